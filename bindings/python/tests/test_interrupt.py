"""Ctrl-C during a blocking call raises KeyboardInterrupt at once, and the call is not lost.

A real Python process appends to a real server that is paused (SIGSTOP), so the append waits;
SIGINT must raise KeyboardInterrupt long before the 30 s request timeout, and once the server
resumes, the exception's ``kimberlite_pending`` future gives the append's outcome: the event is
in the stream exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from procs import REPO, Server, _Lines

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from kimberlite import Client, DataClass
    c = Client.connect(addresses=[sys.argv[1]], tenant_id=1, request_timeout=30)
    sid = c.create_stream(sys.argv[2], DataClass.NON_PHI)
    payload = b"interrupted-" + sys.argv[2].encode()
    print("ready", flush=True)
    sys.stdin.readline()  # the server is paused now
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
        offset = exc.kimberlite_pending.result(timeout=30)
        events = [e.data for e in c.read_all(sid)]
        print(json.dumps({"took": took, "offset": offset, "copies": events.count(payload),
                          "events": len(events), "notes": notes}), flush=True)
    c.disconnect()
    """
)


def _wait_until_blocked(pid: int) -> None:
    """Until the child's main thread sleeps on a futex (waiting for the call), where the kernel
    says; without a readable wchan, go on at once (the check stays valid, only less sharp)."""
    path = Path(f"/proc/{pid}/task/{pid}/wchan")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            wchan = path.read_text()
        except OSError:
            return
        if wchan in ("", "0"):
            return
        if "futex" in wchan:
            return
        time.sleep(0.005)


def test_ctrl_c_interrupts_a_blocking_append_and_its_outcome_is_resolved(tmp_path: Path, stream_name: str) -> None:
    srv = Server(tmp_path / "data")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"))
    child = subprocess.Popen(
        [sys.executable, str(script), srv.addr, stream_name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert child.stdin is not None
    out = _Lines(child.stdout)
    try:
        out.expect("^ready$", 30)
        os.kill(srv.pid, signal.SIGSTOP)
        child.stdin.write(b"go\n")
        child.stdin.flush()
        out.expect("^calling$", 10)
        _wait_until_blocked(child.pid)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out.expect("^interrupted$", 5)
        latency = time.monotonic() - sent
        os.kill(srv.pid, signal.SIGCONT)
        child.stdin.write(b"go\n")
        child.stdin.flush()
        line = out.expect(r"^\{", 40).string
        result = json.loads(line)
        print(f"SIGINT to KeyboardInterrupt: {latency * 1000:.0f} ms (seen by the parent)")
        # Without interruptible waits the exception would come only after the 30 s timeout.
        assert latency < 5
        assert result["offset"] == 0
        assert result["copies"] == 1 and result["events"] == 1
        assert any("kimberlite_pending" in n for n in result["notes"])
        assert child.wait(30) == 0, child.stderr.read() if child.stderr else ""
    finally:
        try:
            os.kill(srv.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        if child.poll() is None:
            child.kill()
            child.wait(10)
        srv.stop()


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
