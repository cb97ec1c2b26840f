"""fork(): a client or a loaded library is refused in the child at once; the parent is unharmed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Callable, Tuple

from kimberlite import Client, DataClass, ForkedProcess, _ffi
from procs import REPO


def in_child(fn: Callable[[], str], timeout: float = 30) -> Tuple[int, str]:
    """Run fn in a forked child; return its exit code and what it reported (never hangs)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, end without any exit processing
        code = 0
        try:
            msg = fn()
        except BaseException as exc:  # noqa: BLE001
            msg, code = f"{type(exc).__name__}: {exc}", 1
        os.write(w, msg.encode("utf-8", "replace"))
        os._exit(code)
    os.close(w)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the child hung")
        time.sleep(0.01)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    return os.waitstatus_to_exitcode(status), out


def test_child_gets_forked_process_and_parent_keeps_working(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    client.append(sid, [b"before"])

    def child() -> str:
        seen = []
        for name, call in [
            ("ping", client.ping), ("append", lambda: client.append(sid, [b"child"])),
            ("read", lambda: client.read(sid)), ("stats", client.stats),
            ("connect", lambda: Client.connect(addresses=list(client.addresses), tenant_id=1)),
            ("read_all", lambda: list(client.read_all(sid))),
        ]:
            try:
                call()
                seen.append(f"{name}: no error")
            except ForkedProcess as exc:
                assert "fork" in str(exc) and exc.code == "KMB_ERR_FORKED"
                seen.append(f"{name}: ok")
        assert client.closed and "forked" in repr(client)
        client.disconnect()  # forgets the parent's client here; closes nothing
        return ", ".join(seen)

    code, out = in_child(child)
    assert code == 0, out
    assert "no error" not in out and out.count("ok") == 6
    assert not client.closed
    client.ping()
    assert client.append(sid, [b"after"]) == 1
    assert [e.data for e in client.read_all(sid)] == [b"before", b"after"]


def test_library_itself_refuses_in_child(client: Client) -> None:
    """Even a call that bypasses the Python guard gets KMB_ERR_FORKED from the C guard."""
    lib = _ffi._lib
    handle = client._handle

    def child() -> str:
        return str(lib.kmb_ping(handle))

    code, out = in_child(child)
    assert code == 0 and out == str(_ffi.KMB_ERR_FORKED)
    client.ping()


def test_child_that_only_imported_can_connect(server, stream_name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "fork_then_connect.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        import kimberlite
        from kimberlite import Client, DataClass
        def loaded():
            with open("/proc/self/maps") as f:
                return "libkimberlite" in f.read()
        assert kimberlite.library_path() is None and not loaded(), "loaded at import"
        pid = os.fork()
        if pid == 0:
            try:
                c = Client.connect(addresses=[{server.addr!r}], tenant_id=1)
                sid = c.create_stream({stream_name!r}, DataClass.NON_PHI)
                c.append(sid, [b"from the child"])
                c.disconnect()
            except BaseException as e:
                print("child failed:", repr(e), flush=True)
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "child failed"
        assert not loaded(), "the parent loaded the library"
        with Client.connect(addresses=[{server.addr!r}], tenant_id=1) as c:
            sid = c.create_stream({stream_name!r}, DataClass.NON_PHI)
            assert [e.data for e in c.read_all(sid)] == [b"from the child"]
        print("ok")
    """))
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr
