"""Real kimberlite server processes on free loopback ports, for the tests and the benchmark."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")


def build_dir() -> Path:
    return Path(os.environ.get("BUILD") or REPO / "build")


def binary() -> str:
    path = os.environ.get("KIMBERLITE_BIN") or str(build_dir() / "kimberlite")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no kimberlite binary at {path}: run `make server` (or set KIMBERLITE_BIN)")
    return path


def wait_for(cond: Callable[[], Optional[T]], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll cond until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def freeze(pid: int) -> None:
    """Stop a process with SIGSTOP and return once the kernel reports it stopped: until then it
    may still answer a request sent after the signal."""
    os.kill(pid, signal.SIGSTOP)

    def stopped() -> Optional[bool]:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return True if stat[stat.rindex(")") + 2] in "tT" else None

    wait_for(stopped, 20, f"process {pid} to stop")


class _Lines:
    """Collects a pipe's lines on a thread."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: List[str] = []
        self.q: "queue.Queue[str]" = queue.Queue()
        t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        t.start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            self.q.put(line)

    def expect(self, pattern: str, timeout: float) -> "re.Match[str]":
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r} within {timeout}s; saw {self.lines[-20:]}")
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            m = rx.search(line)
            if m:
                return m


class Server:
    """One standalone `kimberlite server` on a free loopback port."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.data = data
        self.extra = extra
        self.proc: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self.addr = ""
        self.start("127.0.0.1:0")

    def start(self, listen: str) -> None:
        self.proc = subprocess.Popen(
            [binary(), "server", "--listen", listen, "--data", str(self.data), "--log-level", "warn", *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        out = _Lines(self.proc.stdout)
        m = out.expect(r"listening on (\S+)", 20)
        self.addr = m.group(1)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self) -> None:
        """Stop (if running) and start again on the same address and data."""
        self.stop()
        addr = self.addr
        wait_for(lambda: _bindable(addr), 10, f"{addr} to be free")
        self.start(addr)


def _bindable(addr: str) -> bool:
    host, port = addr.rsplit(":", 1)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, int(port)))
            return True
        except OSError:
            return False


def free_port_run(n: int) -> int:
    """A port P with P..P+n-1 all free on 127.0.0.1 (best effort: free now)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n < 60000 and all(_bindable(f"127.0.0.1:{base + i}") for i in range(n)):
            return base
    raise RuntimeError("no run of free ports")


class Cluster:
    """A local cluster through `kimberlite dev --nodes N`; node processes are killable by pid."""

    def __init__(self, data: Path, nodes: int = 3) -> None:
        self.nodes: Dict[int, Tuple[int, str]] = {}
        self.proc = subprocess.Popen(
            [binary(), "dev", "--nodes", str(nodes), "--port", str(free_port_run(nodes)),
             "--data", str(data), "--heartbeat-timeout", "100ms", "--election-timeout", "200ms"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.out = _Lines(self.proc.stdout)
        for _ in range(nodes):
            m = self.out.expect(r"node=(\d+) pid=(\d+) addr=(\S+)", 30)
            self.nodes[int(m.group(1))] = (int(m.group(2)), m.group(3))
        self.out.expect(r"leader=(\d+)", 30)

    @property
    def addresses(self) -> List[str]:
        return [addr for _, (_, addr) in sorted(self.nodes.items())]

    def leader(self) -> Tuple[int, str]:
        """The last leader the dev command announced: (node id, address)."""
        for line in reversed(self.out.lines):
            m = re.match(r"leader=(\d+) addr=(\S+)", line)
            if m:
                return int(m.group(1)), m.group(2)
        raise AssertionError("no leader announced")

    def kill_node(self, node_id: int) -> None:
        os.kill(self.nodes[node_id][0], signal.SIGKILL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


class BlackHole:
    """A listening socket that never accepts or answers: a node that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.addr = "%s:%d" % self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()


def dead_address() -> str:
    """A loopback address nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "127.0.0.1:%d" % s.getsockname()[1]


class Proxy:
    """A TCP proxy in front of one server that can pause (a node that stops answering) or reset
    every connection. Paused bytes wait in the kernel buffers and flow again on resume()."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.addr = "%s:%d" % self.listener.getsockname()
        self.flowing = threading.Event()
        self.flowing.set()
        self.conns: List[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                self.flowing.wait()
                data = src.recv(65536)
                if not data:
                    break
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pause(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def reset_all(self) -> None:
        """Abort every proxied connection with a TCP reset."""
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.closed = True
        self.flowing.set()
        self.listener.close()
        self.reset_all()
