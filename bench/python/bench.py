#!/usr/bin/env python3
"""Python binding vs the Go client core: serial round trips on the same server, side by side.

    python3 bench/python/bench.py [--build BUILD] [--n 500] [--rounds 4]

Starts one `kimberlite server`, then alternates rounds of the same three loops (append one
100-byte event; read one event; ping) through bench/python/goloop (the Go pool package) and
through the Python `kimberlite` package (ctypes -> libkimberlite -> the same Go pool code).
Interleaving spreads drift in disk cost over both. Prints the median over rounds of the mean
latency per operation, and the ratio Python/Go: what the binding (ctypes, argument checks, copies, the C ABI) adds per call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

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
        t = time.perf_counter_ns()
        for i in range(n):
            if len(c.read(sid, base + i, 1).events) != 1:
                raise SystemExit("python read returned no event")
        read_ns = (time.perf_counter_ns() - t) // n
        t = time.perf_counter_ns()
        for _ in range(n):
            c.ping()
        ping_ns = (time.perf_counter_ns() - t) // n
    return {"append_ns": append_ns, "read_ns": read_ns, "ping_ns": ping_ns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--n", type=int, default=500, help="operations per loop and round")
    ap.add_argument("--rounds", type=int, default=4)
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
                py.append(python_round(srv.addr, args.n, args.size))
        finally:
            srv.stop()

    print(f"Python binding vs Go client, serial round trips on one local server "
          f"({args.rounds} rounds x {args.n} ops, {args.size}-byte events; median of the rounds' mean latency, lower is better):")
    for key, label in (("append_ns", "append 1 event"), ("read_ns", "read 1 event"), ("ping_ns", "ping")):
        g = statistics.median(r[key] for r in go)
        p = statistics.median(r[key] for r in py)
        print(f"  {label:15s} python {p / 1000:8.1f} us   go {g / 1000:8.1f} us   ratio python/go {p / g:5.2f}x"
              f"   (+{(p - g) / 1000:.1f} us per call)")


if __name__ == "__main__":
    main()
