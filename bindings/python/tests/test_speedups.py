"""The C accelerator of Client.read (kimberlite/_speedups.c) gives what ctypes alone gives.

The same script runs in two real Python processes against one real server, one with the
accelerator and one with KIMBERLITE_NO_SPEEDUPS=1, and must print the same results and errors,
on the main thread and on another thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from procs import REPO, Server, build_dir

from kimberlite import Client, ClientClosed, DataClass, _native


def built_speedups() -> Optional[Path]:
    """The accelerator `make speedups` built next to the library, or None (no Python headers)."""
    path = build_dir() / _native.FILE_NAME
    return path if path.is_file() else None


needs_speedups = pytest.mark.skipif(built_speedups() is None, reason="the accelerator is not built (no Python headers)")

SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import kimberlite
    from kimberlite import Client, DataClass, KimberliteError, _native
    addr, name = sys.argv[1], sys.argv[2]

    def outcome(call):
        try:
            r = call()
        except KimberliteError as e:
            return {"error": type(e).__name__, "code": e.code, "server_code": e.server_code}
        return {"events": [[e.offset, e.data.hex()] for e in r], "next_offset": r.next_offset,
                "has_more": r.has_more, "type": type(r).__name__,
                "event_types": sorted({type(e).__name__ for e in r})}

    c = Client.connect(addresses=[addr], tenant_id=1, request_timeout=20)
    other = Client.connect(addresses=[addr], tenant_id=2, request_timeout=20)
    sid = c.create_stream(name, DataClass.NON_PHI)
    if sys.argv[3] == "write":  # the first process writes; both read the same stream
        payloads = [b"", bytes(range(256))] + [b"speedups-%d-" % i + name.encode() for i in range(300)]
        c.append(sid, payloads)
    cases = {
        "all": lambda: c.read(sid, 0),
        "middle": lambda: c.read(sid, 150),
        "small": lambda: c.read(sid, 2, max_bytes=40),
        "library_default": lambda: c.read(sid, 0, max_bytes=None),
        "past_the_end": lambda: c.read(sid, 302),
        "far_past_the_end": lambda: c.read(sid, 1 << 40),
        "unknown_stream": lambda: c.read(987654321),
        "other_tenant": lambda: other.read(sid),
    }
    main = {k: outcome(f) for k, f in cases.items()}
    threaded = {}
    t = threading.Thread(target=lambda: threaded.update({k: outcome(f) for k, f in cases.items()}))
    t.start()
    t.join(60)
    print(json.dumps({"speedups": kimberlite.speedups_path() is not None, "main": main, "thread": threaded}))
    """
)


def _run(server: Server, tmp_path: Path, name: str, step: str, accelerated: bool) -> Dict[str, Any]:
    script = tmp_path / "reads.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"))
    env.pop("KIMBERLITE_NO_SPEEDUPS", None)
    if not accelerated:
        env["KIMBERLITE_NO_SPEEDUPS"] = "1"
    done = subprocess.run([sys.executable, str(script), server.addr, name, step],
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    out: Dict[str, Any] = json.loads(done.stdout)
    assert out["speedups"] is accelerated
    return out


@needs_speedups
def test_the_built_accelerator_is_the_one_in_use() -> None:
    import kimberlite

    path = kimberlite.speedups_path()
    assert path is not None
    assert Path(path).resolve() == built_speedups().resolve()  # type: ignore[union-attr]


@needs_speedups
def test_accelerated_reads_equal_ctypes_reads(server: Server, tmp_path: Path, stream_name: str) -> None:
    fast = _run(server, tmp_path, stream_name, "write", accelerated=True)
    plain = _run(server, tmp_path, stream_name, "read", accelerated=False)
    assert fast["main"] == plain["main"]
    assert fast["thread"] == plain["thread"]
    assert fast["main"] == fast["thread"]
    every = fast["main"]["all"]
    assert len(every["events"]) == 302 and every["next_offset"] == 302 and every["has_more"] is True
    assert every["events"][0] == [0, ""] and every["events"][1] == [1, bytes(range(256)).hex()]
    assert every["events"][301] == [301, (b"speedups-299-" + stream_name.encode()).hex()]
    assert (every["type"], every["event_types"]) == ("ReadResult", ["Event"])
    assert 1 <= len(fast["main"]["small"]["events"]) < 300
    assert fast["main"]["past_the_end"] == {"events": [], "next_offset": 302, "has_more": False,
                                            "type": "ReadResult", "event_types": []}
    assert fast["main"]["unknown_stream"]["error"] == "StreamNotFound"
    assert fast["main"]["other_tenant"]["error"] == "StreamNotFound"


@needs_speedups
def test_a_disconnected_client_reads_nothing(server: Server) -> None:
    assert _native.speedups() is not None
    c = Client.connect(addresses=[server.addr], tenant_id=1, request_timeout=20)
    sid = c.create_stream(f"speedups-closed-{os.getpid()}", DataClass.NON_PHI)
    c.disconnect()
    with pytest.raises(ClientClosed):
        c.read(sid)


@needs_speedups
def test_the_accelerator_refuses_bad_input() -> None:
    mod = _native.speedups()
    assert mod is not None
    with pytest.raises(ValueError):
        mod.read_interruptible(1, 1, 0, 0, 0)  # a NULL waiter
    with pytest.raises(TypeError):
        mod.read(1, "one", 0, 0)
    with pytest.raises(OverflowError):
        mod.read(1, -1, 0, 0)
    # A handle the library never gave out is refused by the library, as through ctypes.
    from kimberlite import _ffi

    assert mod.read(8, 1, 0, 0) == _ffi.KMB_ERR_INVALID_HANDLE
