"""One client shared by threads: calls run in parallel, with the GIL released while waiting."""

from __future__ import annotations

import socket
import threading
from typing import Dict, List

import pytest

from kimberlite import Client, ClientClosed, ConnectionFailed, DataClass, KimberliteError
from procs import BlackHole, wait_for


def test_blocked_call_does_not_stop_other_threads(client: Client, stream_name: str, black_hole: BlackHole) -> None:
    """A call stuck on a node that never answers leaves other threads free to make calls.

    If the GIL were held during the C call, this thread could not even accept the connection
    until the stuck call gave up (after 60 s), and the thread would then no longer be alive.
    """
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    outcome: Dict[str, BaseException] = {}

    def stuck() -> None:
        try:
            Client.connect(addresses=[black_hole.addr], tenant_id=1, connect_timeout=60, request_timeout=60,
                           retry_max_attempts=1)
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            outcome["error"] = exc

    t = threading.Thread(target=stuck, daemon=True)
    t.start()
    black_hole.sock.settimeout(30)
    conn, _ = black_hole.sock.accept()  # the stuck thread is inside kmb_client_connect now
    conn.settimeout(30)
    assert conn.recv(64)  # its handshake arrived; it is waiting for an answer that never comes
    for i in range(20):
        client.append(sid, [b"%d" % i])
        assert client.read(sid, from_offset=i).events[0].data == b"%d" % i
        client.ping()
    assert t.is_alive(), "the stuck call returned: the test proved nothing"
    assert client.stream_length(sid) == 20
    # Release it: a reset makes the stuck connect fail at once.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()
    black_hole.close()
    t.join(30)
    assert not t.is_alive()
    assert isinstance(outcome.get("error"), KimberliteError)


def test_threads_share_one_client(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    offsets: List[int] = []
    errors: List[BaseException] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        try:
            for i in range(40):
                off = client.append(sid, [b"w%d-%d" % (w, i)])
                with lock:
                    offsets.append(off)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(offsets) == list(range(320))
    data = [e.data for e in client.read_all(sid)]
    assert sorted(data) == sorted(b"w%d-%d" % (w, i) for w in range(8) for i in range(40))
    for w in range(8):  # each thread's own appends stay in its order
        mine = [d for d in data if d.startswith(b"w%d-" % w)]
        assert mine == [b"w%d-%d" % (w, i) for i in range(40)]


def test_disconnect_while_threads_call(server, stream_name: str) -> None:  # type: ignore[no-untyped-def]
    c = Client.connect(addresses=[server.addr], tenant_id=1)
    sid = c.create_stream(stream_name, DataClass.NON_PHI)
    ok = [0] * 4
    unexpected: List[BaseException] = []
    done = [False] * 4

    def worker(w: int) -> None:
        try:
            while True:
                c.append(sid, [b"x"])
                ok[w] += 1
        except ClientClosed:
            pass
        except BaseException as exc:  # noqa: BLE001
            unexpected.append(exc)
        done[w] = True

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: sum(ok) >= 40, 30, "appends from the threads")
    c.disconnect()
    for t in threads:
        t.join(30)
    assert all(done) and not unexpected
    with Client.connect(addresses=[server.addr], tenant_id=1) as check:
        assert check.stream_length(sid) >= sum(ok)


def test_concurrent_reads(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    payloads = [b"event-%03d" % i for i in range(100)]
    client.append(sid, payloads)
    results: Dict[int, List[bytes]] = {}
    errors: List[BaseException] = []

    def reader(r: int) -> None:
        try:
            for _ in range(5):
                got = [e.data for e in client.read_all(sid, from_offset=r, max_bytes=64)]
                assert got == payloads[r:]
            results[r] = got
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(results) == list(range(8))
