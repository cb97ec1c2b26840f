"""Signals and the Go runtime: a signal may land on a thread that is running the library's Go code.

Its handler must then run on the thread's alternate signal stack (SA_ONSTACK), not on the
goroutine's small stack. Python 3.10 and later install their handlers with that flag; 3.9 did
not, and a storm of SIGINTs into a 3.9 process whose handler was installed after the library
loaded crashed it in every round, so the package refuses to import there.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import List, Optional

from procs import REPO, Server, _Lines

PACKAGE_DIR = str(REPO / "bindings" / "python")

# Lanes of appends (each event a distinct payload) and reads on many threads, with a SIGINT
# handler installed after the library loaded (so the runtime's start did not see it). On "stop"
# the child checks that the stream holds each acknowledged event exactly once.
STORM_CHILD = textwrap.dedent(
    """
    import signal, sys, threading
    from kimberlite import Client, DataClass
    c = Client.connect(addresses=[sys.argv[1]], tenant_id=1)
    sid = c.create_stream(sys.argv[2], DataClass.NON_PHI)
    handled = [0]
    signal.signal(signal.SIGINT, lambda *_: handled.__setitem__(0, handled[0] + 1))
    stop = threading.Event()
    acked = []
    def lane(i):
        n = 0
        while not stop.is_set():
            payload = b"storm-%d-%d" % (i, n)
            c.append(sid, [payload])
            acked.append(payload)
            c.read(sid, 0, 4096)
            n += 1
    lanes = [threading.Thread(target=lane, args=(i,)) for i in range(16)]
    for t in lanes:
        t.start()
    print("ready", flush=True)
    sys.stdin.readline()
    stop.set()
    for t in lanes:
        t.join()
    stored = [e.data for e in c.read_all(sid)]
    assert sorted(stored) == sorted(acked), (len(stored), len(acked))
    print("storm ok %d calls %d SIGINTs" % (len(acked), handled[0]), flush=True)
    c.disconnect()
    """
)


def test_a_storm_of_sigints_while_calls_run_on_every_thread_does_not_crash_the_process(
    tmp_path: Path, server: Server, stream_name: str
) -> None:
    script = tmp_path / "storm.py"
    script.write_text(STORM_CHILD)
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR)
    for round_ in range(2):
        child = subprocess.Popen(
            [sys.executable, str(script), server.addr, f"{stream_name}-{round_}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        assert child.stdin is not None
        out = _Lines(child.stdout)
        try:
            out.expect("^ready$", 30)
            sent = 0
            end = time.monotonic() + 3
            while time.monotonic() < end and child.poll() is None:
                os.kill(child.pid, signal.SIGINT)
                sent += 1
            child.stdin.write(b"stop\n")
            child.stdin.flush()
            code = child.wait(60)
        except BrokenPipeError:
            code = child.wait(60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
        assert child.stderr is not None
        err = child.stderr.read().decode("utf-8", "replace")
        assert code == 0, f"round {round_}: exit {code} after {sent} SIGINTs; stderr: {err[:3000]}"
        done = out.expect(r"^storm ok (\d+) calls (\d+) SIGINTs$", 10)
        assert int(done.group(1)) > 0 and int(done.group(2)) > 0, done.string


def _older_pythons() -> List[str]:
    """Interpreters older than 3.10 (and new enough to parse the package) that run on this
    machine: on PATH, or under pyenv."""
    candidates: List[Optional[str]] = [shutil.which(f"python3.{minor}") for minor in range(7, 10)]
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += glob.glob(os.path.join(pyenv, "versions", "3.[7-9].*", "bin", "python"))
    found = []
    for path in sorted({p for p in candidates if p}):
        try:  # a pyenv shim on PATH may name a version that is not selected, and fail
            probe = subprocess.run([path, "-c", "import sys; print(sys.version_info < (3, 10))"],
                                   capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            found.append(path)
    return found


def test_python_older_than_3_10_is_refused_at_import_with_the_reason() -> None:
    # This interpreter, told it is 3.9 before the import (the check reads sys.version_info), and
    # every real older interpreter this machine has.
    runs = [[sys.executable, "-c", "import sys; sys.version_info = (3, 9, 18, 'final', 0); import kimberlite"]]
    runs += [[python, "-c", "import kimberlite"] for python in _older_pythons()]
    for argv in runs:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=PACKAGE_DIR))
        assert run.returncode != 0, argv
        assert "ImportError: kimberlite needs Python 3.10 or later (this is Python 3." in run.stderr, (argv, run.stderr)
        assert "SA_ONSTACK" in run.stderr, (argv, run.stderr)
