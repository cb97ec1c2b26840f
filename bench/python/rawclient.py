"""A minimal pure-Python Kimberlite client: what a user could write with the standard library alone.

It speaks wire protocol v5 over one plain socket, one request at a time: the handshake, then
ReadEvents, decoding the events out of the answer. bench/python/bench.py times the binding's
read against it, so the binding is measured against the obvious hand-written alternative.
It has no retries, pooling, failover or error mapping: it is a baseline, not a client.
"""

from __future__ import annotations

import socket
import struct
import zlib
from typing import List, Tuple

_HEADER = struct.Struct(">IHII")  # magic "VDB ", version, payload length, CRC-32 of the payload
_MAGIC, _VERSION = 0x56444220, 5


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _read_varint(b: bytes, pos: int) -> Tuple[int, int]:
    v = shift = 0
    while True:
        x = b[pos]
        pos += 1
        v |= (x & 0x7F) << shift
        if x < 0x80:
            return v, pos
        shift += 7


class RawClient:
    """One socket, one request in flight, as a user's twenty lines would do it."""

    def __init__(self, host: str, port: int, tenant: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.tenant = _varint(tenant)
        self.next_id = 1
        # Handshake: request payload variant 0, client_version 5, auth_token None.
        self._call(b"\x00" + _varint(_VERSION) + b"\x00")

    def _call(self, payload: bytes) -> bytes:
        rid = self.next_id
        self.next_id += 1
        body = b"\x00" + _varint(rid) + self.tenant + b"\x00" + payload  # Request, id, tenant, no audit
        self.sock.sendall(_HEADER.pack(_MAGIC, _VERSION, len(body), zlib.crc32(body)) + body)
        magic, _, n, crc = _HEADER.unpack(self.rfile.read(_HEADER.size))
        resp = self.rfile.read(n)
        if magic != _MAGIC or len(resp) != n or zlib.crc32(resp) != crc:
            raise IOError("bad frame from server")
        tag, pos = _read_varint(resp, 0)
        got, pos = _read_varint(resp, pos)
        if tag != 1 or got != rid:
            raise IOError("unexpected answer")
        return resp[pos:]

    def read(self, stream_id: int, from_offset: int, max_bytes: int) -> List[bytes]:
        """ReadEvents (request variant 5); returns the events' payloads."""
        r = self._call(b"\x05" + _varint(stream_id) + _varint(from_offset) + _varint(max_bytes))
        variant, pos = _read_varint(r, 0)
        if variant != 6:
            raise IOError(f"server answered variant {variant} to ReadEvents")
        count, pos = _read_varint(r, pos)
        events = []
        for _ in range(count):
            n, pos = _read_varint(r, pos)
            events.append(r[pos : pos + n])
            pos += n
        return events

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()
