"""The user guide's Python samples (examples/python/), run against real servers."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from kimberlite import Client, ConnectionFailed, DataClass, KimberliteError, OffsetMismatch, StreamNotFound
from procs import REPO, Cluster, Server, dead_address, wait_for

EXAMPLES = REPO / "examples" / "python"


@pytest.fixture
def examples_on_path() -> Iterator[None]:
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


def example_env(addresses: str) -> Dict[str, str]:
    return dict(os.environ, KIMBERLITE_ADDRESSES=addresses,
                PYTHONPATH=os.pathsep.join([str(REPO / "bindings" / "python"), str(EXAMPLES)]))


def run_example(name: str, addresses: str, timeout: float = 120) -> str:
    res = subprocess.run([sys.executable, str(EXAMPLES / name)], env=example_env(addresses), cwd=EXAMPLES,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_basic_pattern(fresh_server: Server) -> None:
    # The guide lists two addresses; here the second one is down, and the token is sent to a
    # server that does not check tokens.
    out = run_example("basic.py", f"{fresh_server.addr},{dead_address()}")
    assert "appended 1000 events; last offset 999" in out
    with Client.connect(addresses=[fresh_server.addr], tenant_id=1) as c:
        sid = c.create_stream("events", DataClass.NON_PHI)
        assert c.stream_length(sid) == 1000


def test_multi_address_cluster_with_a_dead_first_address(cluster: Cluster) -> None:
    out = run_example("multi_cluster.py", ",".join([dead_address()] + cluster.addresses))
    m = re.search(r"offset (\d+); leader (\S+)", out)
    assert m and m.group(2) == cluster.leader()[1], out
    assert "role=leader healthy=True" in out


def test_health_check_sees_an_outage_and_the_recovery(fresh_server: Server, examples_on_path: None,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    import health_check

    client = Client.connect(addresses=[fresh_server.addr], tenant_id=1, request_timeout=1, connect_timeout=0.5)
    sid = client.create_stream("health", DataClass.NON_PHI)
    client.append(sid, [b"ok"])
    caplog.set_level(logging.INFO, logger="kimberlite.health")

    def count(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records)

    stop = health_check.start_health_check(lambda: client, sid, interval=0.05)
    try:
        wait_for(lambda: count("Health check ok") >= 2, 20, "a healthy check")
        fresh_server.kill()
        wait_for(lambda: count("Health check failed") >= 1, 30, "a failed check")
        ok_before = count("Health check ok")
        fresh_server.restart()
        wait_for(lambda: count("Health check ok") > ok_before, 30, "a check after the recovery")
    finally:
        stop.set()
        client.disconnect()


def test_retry_helper(server: Server, stream_name: str, examples_on_path: None) -> None:
    from retry import with_retry

    calls = []
    with Client.connect(addresses=[server.addr], tenant_id=1) as c:
        sid = c.create_stream(stream_name, DataClass.NON_PHI)
        assert with_retry(lambda: c.append(sid, [b"x"])) == 0

        def mismatch() -> int:
            calls.append(1)
            return c.append(sid, [b"y"], expected_offset=7)

        with pytest.raises(OffsetMismatch):  # not retryable: raised at once
            with_retry(mismatch)
        assert len(calls) == 1

    dead = dead_address()

    def unreachable() -> Client:
        calls.append(2)
        return Client.connect(addresses=[dead], tenant_id=1, connect_timeout=0.5, request_timeout=0.5)

    with pytest.raises(ConnectionFailed):
        with_retry(unreachable, max_retries=3, base_delay=0.01)
    assert calls.count(2) == 3


def test_monitoring_wrapper(client: Client, stream_name: str, examples_on_path: None) -> None:
    from monitoring import MonitoredClient

    m = MonitoredClient(client)
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    for i in range(10):
        m.append(sid, [b"%d" % i])
    with pytest.raises(StreamNotFound):
        m.append(123456789, [b"x"])
    s = m.stats()
    assert s["operations"] == 10 and s["errors"] == 1
    assert s["error_rate"] == pytest.approx(0.1) and s["ops_per_sec"] > 0
    assert s["pool"]["operations"]["append"] >= 11
    out = run_example("monitoring.py", client.addresses[0])
    assert re.search(r"operations=100 errors=0 ", out), out


def test_graceful_shutdown_on_sigterm(fresh_server: Server) -> None:
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "graceful_shutdown.py")], cwd=EXAMPLES,
                            env=example_env(fresh_server.addr), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        with Client.connect(addresses=[fresh_server.addr], tenant_id=1) as c:
            sid = c.create_stream("shutdown", DataClass.NON_PHI)
            wait_for(lambda: c.stream_length(sid) >= 5, 30, "appends from the example")
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            m = re.search(r"disconnected after (\d+) appends", out)
            assert m, out + err
            assert c.stream_length(sid) == int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_health_check_and_retry_scripts_run(server: Server) -> None:
    assert "appended at offset" in run_example("retry.py", server.addr)
    run_example("health_check.py", server.addr)


def test_multi_address_with_a_hanging_first_address(server: Server, stream_name: str) -> None:
    from procs import BlackHole

    bh = BlackHole()
    try:
        out = run_example("multi_cluster.py", f"{bh.addr},{server.addr}")
        assert f"leader {server.addr}" in out, out
    finally:
        bh.close()
