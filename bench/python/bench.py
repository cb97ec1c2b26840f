#!/usr/bin/env python3
"""Python binding vs the Go client core and a pure-Python client: serial round trips, side by side.

    python3 bench/python/bench.py [--build BUILD] [--n 2000] [--block 200] [--rounds 6]

Starts one `kimberlite server`, then measures the same serial loops (append one 100-byte event;
read one event; ping) through several callers:

- python: the Python `kimberlite` package from the main thread (ctypes and the C accelerator
  kimberlite/_speedups.c -> libkimberlite -> the Go pool code);
- python-thread: the same from a thread other than the main one, where calls block in the library
  directly instead of waiting in slices (which keeps Ctrl-C working);
- python-ctypes: the main-thread read through ctypes alone, without the C accelerator;
- pure-python: bench/python/rawclient.py, a minimal socket client sending the same ReadEvents frame,
  what a user could write instead of using the binding;
- go: the Go client (bench/goblocks, a child process that times blocks of calls on command).

Each round runs n operations per caller in blocks of --block, the callers taking turns block by
block in a rotating order, so all of them are measured at the same moments and drift in the
machine (CPU frequency, the disk, other load) hits each alike. A round's ratio is the ratio of the
callers' total times. Prints the median over rounds of the mean latency per operation and the
ratios, and one `RATIO name value goal` line per round and ratio for the report (see bench/run.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))
TENANT = 1


class GoBlocks:
    """The Go client in a child process (bench/goblocks): one command line in, its block's ns out."""

    def __init__(self, exe: Path, addr: str) -> None:
        self.proc = subprocess.Popen([str(exe), "-addr", addr, "-tenant", str(TENANT)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, command: str) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench/goblocks failed on {command!r} (exit {self.proc.wait()})")
        return int(line)

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        if self.proc.wait(timeout=30) != 0:
            raise SystemExit(f"bench/goblocks exited {self.proc.returncode}")


class Worker:
    """A thread that times the blocks it is handed, for the python-thread caller."""

    def __init__(self) -> None:
        self.todo: "queue.Queue[Callable[[], None] | None]" = queue.Queue()
        self.done: "queue.Queue[int | BaseException]" = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (fn := self.todo.get()) is not None:
            try:
                t = time.perf_counter_ns()
                fn()
                self.done.put(time.perf_counter_ns() - t)
            except BaseException as e:  # handed back to the main thread
                self.done.put(e)

    def run(self, fn: Callable[[], None]) -> int:
        self.todo.put(fn)
        got = self.done.get()
        if isinstance(got, BaseException):
            raise got
        return got

    def close(self) -> None:
        self.todo.put(None)
        self.thread.join()


def timed(fn: Callable[[], None]) -> int:
    t = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t


def interleaved(callers: Dict[str, Callable[[int, int], int]], n: int, block: int) -> Dict[str, int]:
    """Runs n operations per caller in blocks, the callers taking turns in a rotating order.
    Each caller is called as fn(first, count) and returns the block's nanoseconds. Returns each
    caller's mean ns per operation."""
    total = {name: 0 for name in callers}
    names = list(callers)
    for b, first in enumerate(range(0, n, block)):
        count = min(block, n - first)
        k = b % len(names)
        for name in names[k:] + names[:k]:
            total[name] += callers[name](first, count)
    return {name: ns // n for name, ns in total.items()}


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


def one_round(addr: str, go: GoBlocks, worker: Worker, n: int, block: int, size: int, rnd: int) -> Dict[str, int]:
    """One round: appends, then reads, then pings, each interleaved across the callers."""
    from kimberlite import Client, DataClass
    from rawclient import RawClient

    host, port = addr.rsplit(":", 1)
    raw = RawClient(host, int(port), tenant=TENANT)
    with Client.connect(addresses=[addr], tenant_id=TENANT) as c:
        sid = c.create_stream(f"bench-python-{os.getpid()}-{rnd}", DataClass.PUBLIC)
        ev = b"e" * size
        for _ in range(20):  # warm the connection and the stream tail
            c.append(sid, [ev])
        go.run(f"append {sid} {size} 20")
        base = c.stream_length(sid)

        def py_appends(_: int, count: int) -> int:
            return timed(lambda: [c.append(sid, [ev]) for _ in range(count)])

        appends = interleaved({"python": py_appends,
                               "go": lambda _, count: go.run(f"append {sid} {size} {count}")}, n, block)

        def reads(first: int, count: int) -> None:
            for i in range(base + first, base + first + count):
                if len(c.read(sid, i, 1)) != 1:
                    raise SystemExit("python read returned no event")

        def ctypes_reads(first: int, count: int) -> int:
            with _ctypes_only():
                return timed(lambda: reads(first, count))

        def raw_reads(first: int, count: int) -> None:
            for i in range(base + first, base + first + count):
                if len(raw.read(sid, i, 1)) != 1:
                    raise SystemExit("pure-python read returned no event")

        reads(0, 20)  # warm the read paths, as the appends were warmed
        raw_reads(0, 20)
        go.run(f"read {sid} {base} 1 20")
        read = interleaved({
            "python": lambda first, count: timed(lambda: reads(first, count)),
            "python-thread": lambda first, count: worker.run(lambda: reads(first, count)),
            "python-ctypes": ctypes_reads,
            "pure-python": lambda first, count: timed(lambda: raw_reads(first, count)),
            "go": lambda first, count: go.run(f"read {sid} {base + first} 1 {count}"),
        }, n, block)

        pings = interleaved({"python": lambda _, count: timed(lambda: [c.ping() for _ in range(count)]),
                             "go": lambda _, count: go.run(f"ping {count}")}, n, block)
    raw.close()
    out = {f"append_{k}": v for k, v in appends.items()}
    out.update({f"read_{k}": v for k, v in read.items()})
    out.update({f"ping_{k}": v for k, v in pings.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--n", type=int, default=2000, help="operations per caller, loop and round")
    ap.add_argument("--block", type=int, default=200, help="operations per turn of one caller")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--size", type=int, default=100, help="event size in bytes")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    os.environ.setdefault("KIMBERLITE_LIB", str(build / "libkimberlite.so"))
    os.environ.setdefault("KIMBERLITE_BIN", str(build / "kimberlite"))

    from procs import Server

    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "goblocks"
        subprocess.run(["go", "build", "-o", str(exe), "./bench/goblocks"], cwd=REPO, check=True)
        srv = Server(Path(tmp) / "data")
        try:
            go = GoBlocks(exe, srv.addr)
            worker = Worker()
            rounds = [one_round(srv.addr, go, worker, args.n, args.block, args.size, r) for r in range(args.rounds)]
            worker.close()
            go.close()
        finally:
            srv.stop()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    print(f"Python binding vs Go client and a pure-Python client, serial round trips on one local server "
          f"({args.rounds} rounds x {args.n} ops per caller in turns of {args.block}, {args.size}-byte events; "
          f"median of the rounds' mean latency, lower is better):")
    for op, label in (("append", "append 1 event"), ("read", "read 1 event"), ("ping", "ping")):
        p, g = med(f"{op}_python"), med(f"{op}_go")
        print(f"  {label:15s} python {p / 1000:8.1f} us   go {g / 1000:8.1f} us   ratio python/go {p / g:5.2f}x"
              f"   (+{(p - g) / 1000:.1f} us per call)")
    p, pure = med("read_python"), med("read_pure-python")
    print(f"  {'read 1 event':15s} python {p / 1000:8.1f} us   pure-python socket client {pure / 1000:8.1f} us"
          f"   ratio python/pure-python {p / pure:5.2f}x")
    print(f"  {'read, thread':15s} python {med('read_python-thread') / 1000:8.1f} us"
          "   (a thread other than the main one: direct blocking call)")
    import kimberlite

    print(f"  {'read, ctypes':15s} python {med('read_python-ctypes') / 1000:8.1f} us   (main thread, without the C "
          f"accelerator {kimberlite.speedups_path() or '(not built)'})")
    for r in rounds:
        def ratio(name: str, a: str, b: str, goal: str, what: str) -> None:
            print(f"RATIO {name} {r[a] / r[b]:.3f}{' ' + goal if goal else ''} # {what}")

        ratio("python-thread/pure-python.read", "read_python-thread", "read_pure-python", "<=0.8",
              "Python binding read from a non-main thread / pure-Python socket client")
        ratio("python-thread/go.read", "read_python-thread", "read_go", "<=1.25",
              "Python binding read from a non-main thread / Go client, serial 1-event read")
        ratio("python/pure-python.read", "read_python", "read_pure-python", "<=0.8",
              "Python binding serial 1-event read / pure-Python socket client, same frame")
        ratio("python/go.read", "read_python", "read_go", "<=1.25", "Python binding / Go client, serial 1-event read")
        ratio("python-ctypes/go.read", "read_python-ctypes", "read_go", "",
              "Python binding read without its C accelerator (ctypes alone) / Go client")
        ratio("python/go.append", "append_python", "append_go", "", "Python binding / Go client, serial 1-event append")


if __name__ == "__main__":
    main()
