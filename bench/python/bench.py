#!/usr/bin/env python3
"""Python binding vs the Go client core: serial round trips on the same server, side by side.

    python3 bench/python/bench.py [--build BUILD] [--n 2000] [--rounds 6]

Starts one `kimberlite server`, then alternates rounds of the same three loops (append one
100-byte event; read one event; ping) through bench/python/goloop (the Go pool package) and
through the Python `kimberlite` package (ctypes -> libkimberlite -> the same Go pool code).
Interleaving spreads drift in disk cost over both. Each round also reads the same events through
bench/python/rawclient.py, a minimal pure-Python socket client sending the same ReadEvents frame:
what a user could write instead of using the binding, and the same reads through ctypes alone
(without the C accelerator kimberlite/_speedups.c). Prints the median over rounds of the mean
latency per operation, the ratio Python/Go (what the binding: ctypes, argument checks, copies, the
C ABI adds per call) and Python/pure-Python, and one `RATIO name value goal` line per round and
ratio for the report (see bench/run.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))


def python_round(addr: str, n: int, size: int) -> Dict[str, int]:
    from kimberlite import Client, DataClass

    with Client.connect(addresses=[addr], tenant_id=1) as c:
        sid = c.create_stream("bench-python", DataClass.PUBLIC)
        ev = b"e" * size
        base = c.stream_length(sid)
        for _ in range(20):  # warm the connection and the stream tail
            c.append(sid, [ev])
        base += 20
        t = time.perf_counter_ns()
        for _ in range(n):
            c.append(sid, [ev])
        append_ns = (time.perf_counter_ns() - t) // n
        for i in range(20):  # warm the read path, as the appends were warmed
            c.read(sid, base + i, 1)
        read_ns = _reads_ns(c, sid, base, n)
        with _ctypes_only():
            ctypes_read_ns = _reads_ns(c, sid, base, n)
        t = time.perf_counter_ns()
        for _ in range(n):
            c.ping()
        ping_ns = (time.perf_counter_ns() - t) // n
        # The same reads from a thread other than the main one, where calls block in the library
        # directly instead of waiting for a waiter in slices (which keeps Ctrl-C working).
        out: Dict[str, int] = {}

        def reads() -> None:
            t0 = time.perf_counter_ns()
            for i in range(n):
                if len(c.read(sid, base + i, 1).events) != 1:
                    raise SystemExit("python read returned no event")
            out["ns"] = (time.perf_counter_ns() - t0) // n

        th = threading.Thread(target=reads)
        th.start()
        th.join()
    return {"append_ns": append_ns, "read_ns": read_ns, "ping_ns": ping_ns, "thread_read_ns": out["ns"],
            "ctypes_read_ns": ctypes_read_ns, "stream": sid, "base": base}


def _reads_ns(c, sid: int, base: int, n: int) -> int:  # type: ignore[no-untyped-def]
    """Mean latency of n serial 1-event reads on this thread."""
    t = time.perf_counter_ns()
    for i in range(n):
        if len(c.read(sid, base + i, 1)) != 1:
            raise SystemExit("python read returned no event")
    return (time.perf_counter_ns() - t) // n


@contextlib.contextmanager
def _ctypes_only() -> Iterator[None]:
    """Client.read through ctypes alone (as with KIMBERLITE_NO_SPEEDUPS=1), in this process."""
    from kimberlite import _ffi, _native

    _native.speedups()
    saved = _native._state
    _native._set(_ffi.loaded_path(), None)
    try:
        yield
    finally:
        _native._set(*saved)


def pure_python_read_ns(addr: str, sid: int, base: int, n: int) -> int:
    """Mean latency of the same serial 1-event reads through the hand-written socket client."""
    from rawclient import RawClient

    host, port = addr.rsplit(":", 1)
    raw = RawClient(host, int(port), tenant=1)
    try:
        for i in range(20):  # warm up, as the binding's loop does
            raw.read(sid, base + i, 1)
        t = time.perf_counter_ns()
        for i in range(n):
            if len(raw.read(sid, base + i, 1)) != 1:
                raise SystemExit("pure-python read returned no event")
        return (time.perf_counter_ns() - t) // n
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--n", type=int, default=2000, help="operations per loop and round")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--size", type=int, default=100, help="event size in bytes")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    os.environ.setdefault("KIMBERLITE_LIB", str(build / "libkimberlite.so"))
    os.environ.setdefault("KIMBERLITE_BIN", str(build / "kimberlite"))

    from procs import Server

    with tempfile.TemporaryDirectory() as tmp:
        goloop = Path(tmp) / "goloop"
        subprocess.run(["go", "build", "-o", str(goloop), "./bench/python/goloop"], cwd=REPO, check=True)
        srv = Server(Path(tmp) / "data")
        try:
            go: List[Dict[str, int]] = []
            py: List[Dict[str, int]] = []
            for _ in range(args.rounds):
                out = subprocess.run([str(goloop), "-addr", srv.addr, "-n", str(args.n), "-size", str(args.size)],
                                     check=True, capture_output=True, text=True).stdout
                go.append(json.loads(out))
                r = python_round(srv.addr, args.n, args.size)
                r["pure_read_ns"] = pure_python_read_ns(srv.addr, r["stream"], r["base"], args.n)
                py.append(r)
        finally:
            srv.stop()

    print(f"Python binding vs Go client, serial round trips on one local server "
          f"({args.rounds} rounds x {args.n} ops, {args.size}-byte events; median of the rounds' mean latency, lower is better):")
    for key, label in (("append_ns", "append 1 event"), ("read_ns", "read 1 event"), ("ping_ns", "ping")):
        g = statistics.median(r[key] for r in go)
        p = statistics.median(r[key] for r in py)
        print(f"  {label:15s} python {p / 1000:8.1f} us   go {g / 1000:8.1f} us   ratio python/go {p / g:5.2f}x"
              f"   (+{(p - g) / 1000:.1f} us per call)")
    pure = statistics.median(r["pure_read_ns"] for r in py)
    p = statistics.median(r["read_ns"] for r in py)
    print(f"  {'read 1 event':15s} python {p / 1000:8.1f} us   pure-python socket client {pure / 1000:8.1f} us"
          f"   ratio python/pure-python {p / pure:5.2f}x")
    th = statistics.median(r["thread_read_ns"] for r in py)
    print(f"  {'read, thread':15s} python {th / 1000:8.1f} us   (a thread other than the main one: direct blocking call)")
    ct = statistics.median(r["ctypes_read_ns"] for r in py)
    import kimberlite

    print(f"  {'read, ctypes':15s} python {ct / 1000:8.1f} us   (main thread, without the C accelerator "
          f"{kimberlite.speedups_path() or '(not built)'})")
    for g, r in zip(go, py):
        print(f"RATIO python-thread/pure-python.read {r['thread_read_ns'] / r['pure_read_ns']:.3f} <=0.8"
              " # Python binding read from a non-main thread / pure-Python socket client")
        print(f"RATIO python-thread/go.read {r['thread_read_ns'] / g['read_ns']:.3f} <=1.25"
              " # Python binding read from a non-main thread / Go client, serial 1-event read")
        print(f"RATIO python/pure-python.read {r['read_ns'] / r['pure_read_ns']:.3f} <=0.8"
              " # Python binding serial 1-event read / pure-Python socket client, same frame")
        print(f"RATIO python/go.read {r['read_ns'] / g['read_ns']:.3f} <=1.25"
              " # Python binding / Go client, serial 1-event read")
        print(f"RATIO python-ctypes/go.read {r['ctypes_read_ns'] / g['read_ns']:.3f}"
              " # Python binding read without its C accelerator (ctypes alone) / Go client")
        print(f"RATIO python/go.append {r['append_ns'] / g['append_ns']:.3f}"
              " # Python binding / Go client, serial 1-event append")


if __name__ == "__main__":
    main()
