"""Faults between client and server (a proxy that pauses or resets): deadlines and retries."""

from __future__ import annotations

from typing import Iterator

import pytest

from kimberlite import Client, DataClass, DeadlineExceeded, KimberliteError
from procs import Proxy, Server, wait_for


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    p = Proxy(server.addr)
    yield p
    p.close()


def test_silent_node_gives_a_timeout_error(proxy: Proxy, stream_name: str) -> None:
    c = Client.connect(addresses=[proxy.addr], tenant_id=1, request_timeout=0.5, health_check_period=0)
    try:
        sid = c.create_stream(stream_name, DataClass.NON_PHI)
        c.append(sid, [b"before"])
        proxy.pause()
        with pytest.raises(TimeoutError) as ei:
            c.ping()
        assert isinstance(ei.value, DeadlineExceeded) and ei.value.retryable
        assert ei.value.code == "KMB_ERR_TIMEOUT"
        proxy.resume()

        def works() -> bool:
            try:
                c.ping()
                return True
            except KimberliteError:
                return False

        wait_for(works, 20, "the client to recover")
        c.append(sid, [b"after"])
        assert [e.data for e in c.read_all(sid)][-1] == b"after"
    finally:
        proxy.resume()
        c.disconnect()


def test_reset_connections_are_retried(proxy: Proxy, stream_name: str) -> None:
    c = Client.connect(addresses=[proxy.addr], tenant_id=1, request_timeout=10)
    try:
        sid = c.create_stream(stream_name, DataClass.NON_PHI)
        for i in range(5):
            c.append(sid, [b"%d" % i])
            proxy.reset_all()
            # Each call meets a dead pooled connection and succeeds on a fresh one.
            assert c.stream_length(sid) == i + 1
        assert [e.data for e in c.read_all(sid)] == [b"0", b"1", b"2", b"3", b"4"]
        assert c.stats()["nodes"][0]["dials"] >= 2
    finally:
        c.disconnect()
