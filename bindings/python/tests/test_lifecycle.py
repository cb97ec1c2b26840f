"""A client dropped without disconnect() is closed; a process may exit with clients open."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

from kimberlite import Client, DataClass
from procs import REPO, Server, wait_for


def established_to(addr: str) -> int:
    """TCP connections in state ESTABLISHED whose remote end is addr (IPv4 loopback)."""
    port = int(addr.rsplit(":", 1)[1])
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.split(":")[1], 16) == port:
                n += 1
    return n


def test_dropped_client_closes_its_connections(fresh_server: Server) -> None:
    c = Client.connect(addresses=[fresh_server.addr], tenant_id=1)
    c.ping()
    assert established_to(fresh_server.addr) >= 1
    del c
    gc.collect()
    wait_for(lambda: established_to(fresh_server.addr) == 0, 20, "the dropped client's sockets to close")


def test_exit_with_open_clients_and_busy_threads(server: Server, stream_name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(f"""
        import threading
        from kimberlite import Client, DataClass
        c = Client.connect(addresses=[{server.addr!r}], tenant_id=1)
        sid = c.create_stream({stream_name!r}, DataClass.NON_PHI)
        started = threading.Event()
        def busy():
            while True:
                c.append(sid, [b"x"])
                started.set()
        for _ in range(3):
            threading.Thread(target=busy, daemon=True).start()
        started.wait(30)
        print("exiting", flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"))
    res = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "exiting"
    with Client.connect(addresses=[server.addr], tenant_id=1) as c:
        assert c.stream_length(c.create_stream(stream_name, DataClass.NON_PHI)) >= 1
