"""Every Client method against a real server, and the errors each one raises."""

from __future__ import annotations

import pickle

import pytest

import kimberlite
from kimberlite import (
    AuthenticationFailed, Client, ClientClosed, ClusterMode, ConnectionFailed, DataClass,
    DeadlineExceeded, Event, InvalidArgument, InvalidUtf8, KimberliteError, OffsetMismatch,
    Placement, ReadFrom, ReadResult, ServerInfo, StreamNotFound,
)


def test_create_append_read_roundtrip(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    assert isinstance(sid, int) and sid > 0
    assert client.create_stream(stream_name, DataClass.PHI) == sid  # idempotent by name
    assert client.append(sid, [b"a", b"b\x00c", b""]) == 0
    assert client.append(sid, (bytearray(b"d"), memoryview(b"e"))) == 3
    res = client.read(sid)
    assert isinstance(res, ReadResult)
    assert res.events == (Event(0, b"a"), Event(1, b"b\x00c"), Event(2, b""), Event(3, b"d"), Event(4, b"e"))
    assert res.next_offset == 5 and res.has_more
    assert len(res) == 5 and [e.data for e in res] == [b"a", b"b\x00c", b"", b"d", b"e"]
    empty = client.read(sid, from_offset=5)
    assert empty.events == () and empty.next_offset == 5 and not empty.has_more
    assert client.stream_length(sid) == 5


def test_read_pages_and_read_all(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.PUBLIC, Placement.GLOBAL)
    payloads = [b"%03d" % i * 10 for i in range(50)]
    client.append(sid, payloads)
    page = client.read(sid, from_offset=10, max_bytes=1)
    assert page.events == (Event(10, payloads[10]),) and page.next_offset == 11
    assert [e.data for e in client.read_all(sid, max_bytes=100)] == payloads
    assert [e.offset for e in client.read_all(sid, from_offset=45)] == [45, 46, 47, 48, 49]
    assert list(client.read_all(sid, from_offset=50)) == []


def test_expected_offset(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.PII)
    assert client.append(sid, [b"x"], expected_offset=0) == 0
    assert client.append(sid, [b"y"], expected_offset=1) == 1
    with pytest.raises(OffsetMismatch) as ei:
        client.append(sid, [b"z"], expected_offset=1)
    e = ei.value
    assert e.code == "KMB_ERR_OFFSET_MISMATCH" and e.server_code == 16 and not e.retryable
    assert e.request_id is not None and "mismatch" in e.message.lower()
    assert client.stream_length(sid) == 2


def test_every_data_class(client: Client, stream_name: str) -> None:
    assert [d.name for d in DataClass] == [
        "PHI", "NON_PHI", "DEIDENTIFIED", "PII", "SENSITIVE", "PCI", "FINANCIAL", "CONFIDENTIAL", "PUBLIC"]
    assert DataClass.NON_PHI.wire_value == DataClass.PUBLIC.wire_value
    ids = {client.create_stream(f"{stream_name}-{d.name}", d) for d in DataClass}
    assert len(ids) == 9


def test_missing_stream(client: Client) -> None:
    with pytest.raises(StreamNotFound) as ei:
        client.stream_length(987654321)
    assert ei.value.server_code == 5 and isinstance(ei.value, KimberliteError)
    with pytest.raises(StreamNotFound):
        client.append(987654321, [b"x"])
    with pytest.raises(StreamNotFound):
        client.read(987654321)


def test_sync_ping_server_info_stats(client: Client, server) -> None:  # type: ignore[no-untyped-def]
    assert client.sync() is None
    assert client.ping() is None
    info = client.server_info()
    assert isinstance(info, ServerInfo)
    assert info.protocol_version == 5 and info.build_version
    assert info.cluster_mode is ClusterMode.STANDALONE and isinstance(info.capabilities, tuple)
    stats = client.stats()
    assert stats["leader"] == server.addr
    assert stats["operations"]["ping"] >= 1
    node = stats["nodes"][0]
    assert set(node) >= {"address", "role", "healthy", "open_conns", "idle_conns", "in_flight", "dials", "dial_failures"}
    for key in ("leader_view", "errors", "retries", "redirects", "leader_changes", "latency_p50_ns",
                "latency_p90_ns", "latency_p99_ns", "latency_max_ns"):
        assert key in stats


def test_disconnect_idempotent_and_closed_errors(server) -> None:  # type: ignore[no-untyped-def]
    c = Client.connect(addresses=[server.addr], tenant_id=1)
    assert "open" in repr(c) and server.addr in repr(c) and not c.closed
    c.disconnect()
    c.disconnect()
    assert c.closed and "closed" in repr(c)
    for call in (c.ping, c.sync, c.server_info, c.stats, lambda: c.append(1, [b"x"]),
                 lambda: c.read(1), lambda: c.stream_length(1), lambda: c.create_stream("s", DataClass.PHI),
                 lambda: list(c.read_all(1))):
        with pytest.raises(ClientClosed):
            call()


def test_context_manager(server, stream_name: str) -> None:  # type: ignore[no-untyped-def]
    with Client.connect(addresses=[server.addr], tenant_id=1) as c:
        sid = c.create_stream(stream_name, DataClass.NON_PHI)
        c.append(sid, [b"x"])
    assert c.closed
    with pytest.raises(ClientClosed):
        c.ping()


def test_constructor_is_not_public() -> None:
    with pytest.raises(TypeError):
        Client()


def test_every_option_accepted(server) -> None:  # type: ignore[no-untyped-def]
    c = Client.connect(
        addresses=[server.addr], tenant_id=1, auth_token=None,
        connect_timeout=2, request_timeout=5.5, min_idle_conns_per_node=0, max_conns_per_node=3,
        max_in_flight_per_conn=16, max_conn_lifetime=0, max_conn_lifetime_jitter=0,
        max_conn_idle_time=60, health_check_period=0, keep_alive=False, max_dials_per_node=1,
        retry_max_attempts=2, retry_initial_backoff=0.01, retry_max_backoff=0.5,
        retry_budget_ratio=0.5, retry_budget_min_per_sec=5, max_redirects=2,
        read_from=ReadFrom.ANY_HEALTHY, append_batch_max_events=10, append_batch_max_bytes=1 << 20,
    )
    c.ping()
    c.disconnect()
    c = Client.connect(addresses=[server.addr], tenant_id=1, keep_alive=30, health_check_period=0.5)
    c.ping()
    c.disconnect()


@pytest.mark.parametrize("kwargs,exc,fragment", [
    (dict(max_conns_per_node=0), InvalidArgument, "max_conns_per_node"),
    (dict(retry_max_attempts=0), InvalidArgument, "retry"),
    (dict(retry_budget_ratio=float("nan")), InvalidArgument, "ratio"),
    (dict(retry_budget_ratio=11.0), InvalidArgument, "ratio"),
    (dict(connect_timeout=0), InvalidArgument, "connect_timeout"),
    (dict(request_timeout=-1), InvalidArgument, "request_timeout"),
    (dict(request_timeout=float("inf")), InvalidArgument, "request_timeout"),
    (dict(request_timeout="5"), TypeError, "request_timeout"),
    (dict(max_conns_per_node=2**32), InvalidArgument, "max_conns_per_node"),
    (dict(max_conns_per_node=1.5), TypeError, "max_conns_per_node"),
    (dict(keep_alive=True), TypeError, "keep_alive"),
    (dict(read_from=7), InvalidArgument, "read_from"),
    (dict(min_idle_conns_per_node=5, max_conns_per_node=2), InvalidArgument, "minidle"),
    (dict(retry_initial_backoff=2, retry_max_backoff=1), InvalidArgument, "backoff"),
])
def test_bad_options(server, kwargs, exc, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc) as ei:
        Client.connect(addresses=[server.addr], tenant_id=1, **kwargs)
    assert fragment.lower() in str(ei.value).lower()


@pytest.mark.parametrize("addresses,exc", [
    ("127.0.0.1:1", TypeError),
    (b"127.0.0.1:1", TypeError),
    (None, TypeError),
    ([], InvalidArgument),
    ([""], InvalidArgument),
    ([5432], TypeError),
    (["no-port"], InvalidArgument),
    (["host\x00:1"], InvalidUtf8),
    (["\udcff:1"], InvalidUtf8),
])
def test_bad_addresses(addresses, exc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc):
        Client.connect(addresses=addresses, tenant_id=1)


@pytest.mark.parametrize("tenant", [-1, 2**64, "1", 1.0, True])
def test_bad_tenant(server, tenant) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((TypeError, ValueError)):
        Client.connect(addresses=[server.addr], tenant_id=tenant)


def test_bad_token_type(server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        Client.connect(addresses=[server.addr], tenant_id=1, auth_token=b"token")
    with pytest.raises(InvalidUtf8):
        Client.connect(addresses=[server.addr], tenant_id=1, auth_token="a\udc80")


@pytest.mark.parametrize("events,exc", [
    ("text", TypeError),
    (b"bytes", TypeError),
    (bytearray(b"x"), TypeError),
    (["text"], TypeError),
    ([b"ok", "text"], TypeError),
    ([1, 2], TypeError),
    ([None], TypeError),
    (123, TypeError),
    (None, TypeError),
    ([], InvalidArgument),
    ((), InvalidArgument),
])
def test_bad_events(client: Client, stream_name: str, events, exc) -> None:  # type: ignore[no-untyped-def]
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    with pytest.raises(exc):
        client.append(sid, events)
    assert client.stream_length(sid) == 0


def test_oversized_batch(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    with pytest.raises(InvalidArgument):
        client.append(sid, [b"x" * (16 * 1024 * 1024 + 1)])
    # Just under the payload limit, the encoded batch is still over the frame limit: the library
    # refuses it the same way, with nothing sent.
    with pytest.raises(InvalidArgument):
        client.append(sid, [b"x" * (8 * 1024 * 1024), b"y" * (8 * 1024 * 1024)])
    assert client.stream_length(sid) == 0
    big = b"z" * (4 * 1024 * 1024)
    assert client.append(sid, [big]) == 0
    assert client.read(sid).events[0].data == big


@pytest.mark.parametrize("value,exc", [(-1, InvalidArgument), (2**64, InvalidArgument), ("1", TypeError),
                                       (1.0, TypeError), (None, TypeError), (True, TypeError)])
def test_bad_ids_and_offsets(client: Client, stream_name: str, value, exc) -> None:  # type: ignore[no-untyped-def]
    sid = client.create_stream(stream_name, DataClass.NON_PHI)
    with pytest.raises(exc):
        client.append(value, [b"x"])
    with pytest.raises(exc):
        client.read(value)
    with pytest.raises(exc):
        client.stream_length(value)
    if value is not None:
        with pytest.raises(exc):
            client.append(sid, [b"x"], expected_offset=value)
        with pytest.raises(exc):
            client.read(sid, from_offset=value)
        with pytest.raises(exc):
            client.read(sid, max_bytes=value)
    with pytest.raises(InvalidArgument):
        client.read(sid, max_bytes=0)
    assert client.stream_length(sid) == 0


@pytest.mark.parametrize("name,exc", [
    ("", InvalidArgument), ("a\x00b", InvalidUtf8), ("\ud800", InvalidUtf8), (b"bytes", TypeError), (None, TypeError),
])
def test_bad_stream_names(client: Client, name, exc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc):
        client.create_stream(name, DataClass.NON_PHI)


def test_unicode_stream_name(client: Client, stream_name: str) -> None:
    sid = client.create_stream(stream_name + "-ünïcødé-流", DataClass.NON_PHI)
    assert client.create_stream(stream_name + "-ünïcødé-流", DataClass.NON_PHI) == sid


@pytest.mark.parametrize("dc,exc", [(9, InvalidArgument), (-1, InvalidArgument), ("PHI", TypeError), (None, TypeError)])
def test_bad_data_class_and_placement(client: Client, stream_name: str, dc, exc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc):
        client.create_stream(stream_name, dc)
    with pytest.raises(InvalidArgument):
        client.create_stream(stream_name, DataClass.PHI, "us-east-1")  # type: ignore[arg-type]


def test_connection_refused_is_connection_error() -> None:
    from procs import dead_address
    with pytest.raises(ConnectionError) as ei:
        Client.connect(addresses=[dead_address()], tenant_id=1, connect_timeout=2, request_timeout=2)
    assert isinstance(ei.value, ConnectionFailed) and ei.value.retryable
    assert ei.value.code in ("KMB_ERR_CONNECTION", "KMB_ERR_CLUSTER_UNAVAILABLE")


def test_black_hole_connect_times_out(black_hole) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((TimeoutError, ConnectionError)) as ei:
        Client.connect(addresses=[black_hole.addr], tenant_id=1, connect_timeout=0.3, request_timeout=1)
    assert isinstance(ei.value, KimberliteError) and ei.value.retryable


def test_authentication(tmp_path, stream_name: str) -> None:  # type: ignore[no-untyped-def]
    from procs import Server
    srv = Server(tmp_path / "auth", "--auth-token", "token=1")
    try:
        with pytest.raises(AuthenticationFailed) as ei:
            Client.connect(addresses=[srv.addr], tenant_id=1, auth_token="wrong", retry_max_attempts=1)
        assert ei.value.server_code == 3
        with Client.connect(addresses=[srv.addr], tenant_id=1) as anonymous:
            with pytest.raises(AuthenticationFailed):
                anonymous.create_stream(stream_name, DataClass.NON_PHI)
        with Client.connect(addresses=[srv.addr], tenant_id=2, auth_token="token") as other_tenant:
            with pytest.raises(AuthenticationFailed):
                other_tenant.create_stream(stream_name, DataClass.NON_PHI)
        with Client.connect(addresses=[srv.addr], tenant_id=1, auth_token="token") as c:
            sid = c.create_stream(stream_name, DataClass.NON_PHI)
            assert c.append(sid, [b"x"]) == 0
    finally:
        srv.stop()


def test_errors_pickle_through_a_real_failure(client: Client) -> None:
    with pytest.raises(StreamNotFound) as ei:
        client.stream_length(424242)
    e2 = pickle.loads(pickle.dumps(ei.value))
    assert type(e2) is StreamNotFound
    assert (e2.code, e2.message, e2.server_code, e2.request_id, e2.retryable) == (
        ei.value.code, ei.value.message, ei.value.server_code, ei.value.request_id, ei.value.retryable)


def test_library_loaded_from_build() -> None:
    import os
    assert kimberlite.library_path() == os.environ["KIMBERLITE_LIB"]
    assert kimberlite.library_version() == kimberlite.__version__


def test_server_restart_is_survived(fresh_server, stream_name: str) -> None:  # type: ignore[no-untyped-def]
    c = Client.connect(addresses=[fresh_server.addr], tenant_id=1, request_timeout=20)
    try:
        sid = c.create_stream(stream_name, DataClass.NON_PHI)
        c.append(sid, [b"before"])
        fresh_server.restart()
        c.append(sid, [b"after"])
        assert [e.data for e in c.read_all(sid)] == [b"before", b"after"]
    finally:
        c.disconnect()


def test_request_timeout_against_a_dead_server(fresh_server) -> None:  # type: ignore[no-untyped-def]
    c = Client.connect(addresses=[fresh_server.addr], tenant_id=1, request_timeout=1, connect_timeout=0.5)
    try:
        fresh_server.kill()
        with pytest.raises(KimberliteError) as ei:
            c.ping()
        assert isinstance(ei.value, (TimeoutError, ConnectionError)) and ei.value.retryable
    finally:
        c.disconnect()
