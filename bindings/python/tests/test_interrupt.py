"""Ctrl-C during a blocking call raises KeyboardInterrupt at once, and the call is not lost.

A real Python process appends to a real server that is paused (SIGSTOP), so the append waits;
SIGINT must raise KeyboardInterrupt long before the 30 s request timeout, and once the server
resumes, the exception's ``kimberlite_pending`` future gives the append's outcome: the event is
in the stream exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

from procs import REPO, Server, _Lines, freeze

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from kimberlite import Client, DataClass
    c = Client.connect(addresses=[sys.argv[1]], tenant_id=1, request_timeout=30)
    sid = c.create_stream(sys.argv[2], DataClass.NON_PHI)
    payload = b"interrupted-" + sys.argv[2].encode()
    print("ready", flush=True)
    sys.stdin.readline()  # the server is paused now
    # Say when the append is waiting for its answer (the first wait slice), so the signal
    # comes while the call is in flight.
    from kimberlite import _wait
    lib = _wait._lib()
    real_wait = lib.kmb_waiter_wait
    def announced_wait(w, ms, said=[]):
        if not said:
            said.append(True)
            print("waiting", flush=True)
        return real_wait(w, ms)
    lib.kmb_waiter_wait = announced_wait
    start = time.monotonic()
    try:
        print("calling", flush=True)
        c.append(sid, [payload])
        print(json.dumps({"error": "append returned without an interrupt"}), flush=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        took = time.monotonic() - start
        print("interrupted", flush=True)
        notes = getattr(exc, "__notes__", [])
        sys.stdin.readline()  # the server runs again
        offset = exc.kimberlite_pending.result(timeout=45)
        events = [e.data for e in c.read_all(sid)]
        print(json.dumps({"took": took, "offset": offset, "copies": events.count(payload),
                          "events": len(events), "notes": notes}), flush=True)
    c.disconnect()
    """
)


@contextlib.contextmanager
def _paused_child(
    tmp_path: Path, source: str, stream_name: str, **env_extra: str,
) -> Iterator[Tuple[Server, "subprocess.Popen[bytes]", _Lines]]:
    """A child running source against a fresh server, which is paused (SIGSTOP) once the child
    said "ready" and was told to go on; everything is resumed and stopped afterwards. env_extra
    is added to the child's environment."""
    srv = Server(tmp_path / "data")
    script = tmp_path / "child.py"
    script.write_text(source)
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"), **env_extra)
    child = subprocess.Popen(
        [sys.executable, str(script), srv.addr, stream_name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert child.stdin is not None
    out = _Lines(child.stdout)
    try:
        out.expect("^ready$", 30)
        freeze(srv.pid)
        _tell(child)
        yield srv, child, out
    finally:
        try:
            os.kill(srv.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        if child.poll() is None:
            child.kill()
            child.wait(10)
        srv.stop()


def _tell(child: "subprocess.Popen[bytes]") -> None:
    """Let the child go on to its next step."""
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    child.stdin.flush()


def _outcome(child: "subprocess.Popen[bytes]", out: _Lines) -> Any:
    """The JSON line the child prints at its end."""
    try:
        line = out.expect(r"^\{", 60).string
    except AssertionError:
        child.kill()
        assert child.stderr is not None
        raise AssertionError(f"no outcome from the child; its stderr: {child.stderr.read()!r}") from None
    return json.loads(line)


def test_ctrl_c_interrupts_a_blocking_append_and_its_outcome_is_resolved(tmp_path: Path, stream_name: str) -> None:
    with _paused_child(tmp_path, CHILD, stream_name) as (srv, child, out):
        out.expect("^calling$", 10)
        out.expect("^waiting$", 10)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out.expect("^interrupted$", 5)
        latency = time.monotonic() - sent
        os.kill(srv.pid, signal.SIGCONT)
        _tell(child)
        result = _outcome(child, out)
        print(f"SIGINT to KeyboardInterrupt: {latency * 1000:.0f} ms (seen by the parent)")
        # Without interruptible waits the exception would come only after the 30 s timeout.
        assert latency < 5
        assert result["offset"] == 0
        assert result["copies"] == 1 and result["events"] == 1
        assert any("kimberlite_pending" in n for n in result["notes"])
        assert child.wait(30) == 0, child.stderr.read() if child.stderr else ""


CHILD_IN_POLL = textwrap.dedent(
    """
    import json, sys, time
    from kimberlite import _wait
    _wait.SLICE_MS = 10000  # a patience far longer than the test: only the signal ends the wait
    from kimberlite import Client, DataClass
    # One connection, no background pings: after the first calls the append reads its own
    # answer on this thread (ppoll), where the signal interrupts it.
    c = Client.connect(addresses=[sys.argv[1]], tenant_id=1, request_timeout=30,
                       max_conns_per_node=1, health_check_period=0)
    sid = c.create_stream(sys.argv[2], DataClass.NON_PHI)
    for _ in range(3):
        c.stream_length(sid)
    payload = b"in-poll-" + sys.argv[2].encode()
    print("ready", flush=True)
    sys.stdin.readline()  # the server is paused now
    start = time.monotonic()
    try:
        c.append(sid, [payload])
        print(json.dumps({"error": "append returned without an interrupt"}), flush=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        took = time.monotonic() - start
        print("interrupted", flush=True)
        sys.stdin.readline()  # the server runs again
        offset = exc.kimberlite_pending.result(timeout=45)
        events = [e.data for e in c.read_all(sid)]
        print(json.dumps({"took": took, "offset": offset, "copies": events.count(payload),
                          "events": len(events)}), flush=True)
    c.disconnect()
    """
)

# ppoll's system call number, as /proc/PID/syscall shows it.
PPOLL = {"x86_64": 271, "aarch64": 73}.get(os.uname().machine)


def _wait_in_ppoll(child: "subprocess.Popen[bytes]") -> None:
    """Return once the child's main thread sits in ppoll: its call waits for its answer."""
    deadline = time.monotonic() + 20
    while True:
        fields = Path(f"/proc/{child.pid}/syscall").read_text().split()
        if fields and fields[0] == str(PPOLL):
            return
        assert time.monotonic() < deadline, f"the main thread never waited in ppoll (syscall {fields[:1]})"
        time.sleep(0.005)


@pytest.mark.skipif(PPOLL is None or not Path("/proc/self/syscall").exists(),
                    reason="needs /proc/PID/syscall and a known ppoll number")
def test_ctrl_c_ends_the_wait_of_a_call_running_on_the_main_thread(tmp_path: Path, stream_name: str) -> None:
    """A main-thread call waits on its own thread (the waiter's patience); SIGINT interrupts that
    wait at once rather than at the end of the patience, and the call goes on to its end."""
    with _paused_child(tmp_path, CHILD_IN_POLL, stream_name) as (srv, child, out):
        _wait_in_ppoll(child)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out.expect("^interrupted$", 8)
        latency = time.monotonic() - sent
        os.kill(srv.pid, signal.SIGCONT)
        _tell(child)
        result = _outcome(child, out)
        print(f"SIGINT to KeyboardInterrupt, in ppoll: {latency * 1000:.0f} ms (seen by the parent)")
        # The patience is 10 s: an interrupt that only the patience ended would come far later.
        assert latency < 5
        assert result["offset"] == 0
        assert result["copies"] == 1 and result["events"] == 1
        assert child.wait(30) == 0, child.stderr.read() if child.stderr else ""


READ_IN_POLL = textwrap.dedent(
    """
    import json, sys, time
    from kimberlite import _native, _wait
    _wait.SLICE_MS = 10000  # a patience far longer than the test: only the signal ends the wait
    from kimberlite import Client, DataClass
    c = Client.connect(addresses=[sys.argv[1]], tenant_id=1, request_timeout=30,
                       max_conns_per_node=1, health_check_period=0)
    sid = c.create_stream(sys.argv[2], DataClass.NON_PHI)
    payloads = [b"read-in-poll-%d-" % i + sys.argv[2].encode() for i in range(3)]
    c.append(sid, payloads)
    for _ in range(3):
        c.stream_length(sid)
    print("ready", flush=True)
    sys.stdin.readline()  # the server is paused now
    try:
        c.read(sid, 1)
        print(json.dumps({"error": "read returned without an interrupt"}), flush=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        print("interrupted", flush=True)
        sys.stdin.readline()  # the server runs again
        got = exc.kimberlite_pending.result(timeout=45)
        again = c.read(sid, 0)  # the waiter and the connection serve the next call
        print(json.dumps({"speedups": _native.speedups() is not None,
                          "events": [[e.offset, e.data.decode()] for e in got],
                          "next_offset": got.next_offset,
                          "again": [e.data.decode() for e in again]}), flush=True)
    c.disconnect()
    """
)


@pytest.mark.skipif(PPOLL is None or not Path("/proc/self/syscall").exists(),
                    reason="needs /proc/PID/syscall and a known ppoll number")
@pytest.mark.parametrize("accelerated", [True, False], ids=["speedups", "ctypes"])
def test_ctrl_c_ends_a_main_thread_read_and_its_result_is_kept(
    tmp_path: Path, stream_name: str, accelerated: bool,
) -> None:
    """Client.read, through the C accelerator or through ctypes alone, is interrupted in its wait
    by SIGINT, and exc.kimberlite_pending gives the events the read returned."""
    from test_speedups import built_speedups

    if accelerated and built_speedups() is None:
        pytest.skip("the accelerator is not built (no Python headers)")
    env = {} if accelerated else {"KIMBERLITE_NO_SPEEDUPS": "1"}
    with _paused_child(tmp_path, READ_IN_POLL, stream_name, **env) as (srv, child, out):
        _wait_in_ppoll(child)
        child.send_signal(signal.SIGINT)
        out.expect("^interrupted$", 8)
        os.kill(srv.pid, signal.SIGCONT)
        _tell(child)
        result = _outcome(child, out)
        names = [f"read-in-poll-{i}-{stream_name}" for i in range(3)]
        assert result["speedups"] is accelerated
        assert result["events"] == [[1, names[1]], [2, names[2]]]
        assert result["next_offset"] == 3
        assert result["again"] == names
        assert child.wait(30) == 0, child.stderr.read() if child.stderr else ""


def test_other_threads_keep_the_direct_call(server: Server) -> None:
    """Only the main thread receives KeyboardInterrupt, so only it waits in slices."""
    import threading

    from kimberlite import _wait

    seen = {}
    t = threading.Thread(target=lambda: seen.setdefault("worker", _wait.interruptible()))
    t.start()
    t.join(10)
    assert _wait.interruptible() is True
    assert seen["worker"] is False
