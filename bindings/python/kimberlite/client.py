"""Client: one pooled, failover-aware connection to a Kimberlite cluster, shared by threads."""

from __future__ import annotations

import ctypes
import json
from ctypes import byref, c_char_p, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _ffi, _native, _observe, _wait
from ._convert import U32_MAX, c_string, millis, uint
from .errors import (
    ClientClosed, ForkedProcess, InvalidArgument, InvalidDataClassError, InvalidHandle, KimberliteError,
)
from .tls import TLS, tls_settings
from .subscription import Subscription
from .types import (
    ClientStats, ClusterMode, DataClass, Event, Offset, Placement, ReadFrom, ReadResult, ServerInfo,
    StreamId, TenantId,
)

__all__ = ["Client"]

_FORKED_MESSAGE = (
    "kimberlite: this client was created in process {parent} and cannot be used in the forked "
    "child {child}; connect a new client in the child (for gunicorn/uWSGI: in each worker)"
)

# (keyword, C setter, kind): kind "ms" / "ms0" take seconds (ms0 allows 0), "u32" an int.
_OPTIONS: Tuple[Tuple[str, str, str], ...] = (
    ("connect_timeout", "kmb_config_set_connect_timeout_ms", "ms"),
    ("request_timeout", "kmb_config_set_request_timeout_ms", "ms"),
    ("min_idle_conns_per_node", "kmb_config_set_min_idle_conns_per_node", "u32"),
    ("max_conns_per_node", "kmb_config_set_max_conns_per_node", "u32"),
    ("max_in_flight_per_conn", "kmb_config_set_max_in_flight_per_conn", "u32"),
    ("max_conn_lifetime", "kmb_config_set_max_conn_lifetime_ms", "ms0"),
    ("max_conn_lifetime_jitter", "kmb_config_set_max_conn_lifetime_jitter_ms", "ms0"),
    ("max_conn_idle_time", "kmb_config_set_max_conn_idle_time_ms", "ms0"),
    ("health_check_period", "kmb_config_set_health_check_period_ms", "ms0"),
    ("max_dials_per_node", "kmb_config_set_max_dials_per_node", "u32"),
    ("retry_max_attempts", "kmb_config_set_retry_max_attempts", "u32"),
    ("retry_initial_backoff", "kmb_config_set_retry_initial_backoff_ms", "ms"),
    ("retry_max_backoff", "kmb_config_set_retry_max_backoff_ms", "ms"),
    ("retry_budget_min_per_sec", "kmb_config_set_retry_budget_min_per_sec", "u32"),
    ("max_redirects", "kmb_config_set_max_redirects", "u32"),
    ("append_batch_max_events", "kmb_config_set_append_batch_max_events", "u32"),
    ("append_batch_max_bytes", "kmb_config_set_append_batch_max_bytes", "u32"),
)

Number = Union[int, float]


class Client:
    """A connected client: pooled, pipelined connections to every node of a cluster.

    Create one per process with :meth:`connect` and share it between threads: every method may
    be called from any number of threads at once, and none holds the GIL while it waits on the
    network. A client belongs to the process that connected it; in a child made by fork() every
    method raises :class:`~kimberlite.ForkedProcess` without touching the library.
    """

    __slots__ = ("_handle", "_address", "_pid", "_addresses", "_tenant_id", "_reconnects", "_observer",
                 "_before_close", "__weakref__")
    _handle: Optional[Any]  # a ctypes POINTER(ClientHandle); None once disconnected
    _address: Optional[int]  # the handle as a number, what kimberlite._speedups takes
    _pid: int  # the process that connected; the handle is meaningless in any other
    _addresses: Tuple[str, ...]
    _tenant_id: int
    _reconnects: int
    _observer: Optional[int]  # the key of this client's on_event callback (kimberlite._observe)
    _before_close: List[Callable[[], None]]  # run by disconnect before the library closes

    def __init__(self) -> None:
        raise TypeError("use Client.connect(...) to create a Client")

    @classmethod
    def connect(
        cls,
        addresses: Sequence[str],
        tenant_id: int,
        auth_token: Optional[str] = None,
        client_name: str = "kimberlite-python",
        client_version: str = "0.1.0",
        auto_reconnect: bool = True,
        *,
        connect_timeout: Optional[Number] = 5,
        request_timeout: Optional[Number] = 30,
        min_idle_conns_per_node: Optional[int] = 1,
        max_conns_per_node: Optional[int] = 4,
        max_in_flight_per_conn: Optional[int] = 256,
        max_conn_lifetime: Optional[Number] = 3600,
        max_conn_lifetime_jitter: Optional[Number] = 300,
        max_conn_idle_time: Optional[Number] = 300,
        health_check_period: Optional[Number] = 2,
        keep_alive: Union[Number, bool, None] = 15,
        max_dials_per_node: Optional[int] = 2,
        retry_max_attempts: Optional[int] = 8,
        retry_initial_backoff: Optional[Number] = 0.02,
        retry_max_backoff: Optional[Number] = 1,
        retry_budget_ratio: Optional[float] = 0.2,
        retry_budget_min_per_sec: Optional[int] = 10,
        max_redirects: Optional[int] = 3,
        read_from: Optional[ReadFrom] = ReadFrom.LEADER,
        append_batch_max_events: Optional[int] = 1024,
        append_batch_max_bytes: Optional[int] = 4194304,
        tls: Union[bool, TLS, None] = None,
        on_event: Optional[Callable[[_observe.ClusterEvent], Any]] = None,
    ) -> "Client":
        """Connect to the first seed address that answers and find the cluster's leader.

        Args:
            addresses: seed ``"host:port"`` strings; one live node of the cluster is enough.
            tenant_id: the tenant every request is made for.
            auth_token: the token sent in each connection's handshake; None sends none.
            client_name, client_version, auto_reconnect: accepted for code written for the
                official SDK, and checked, but without effect: the v5 handshake carries no client
                name, and the client always re-dials lost connections and follows the leader
                (auto_reconnect=False cannot turn that off).

        Each keyword option's default is the library's own (None keeps it too). Durations are
        seconds (int or float, rounded up to whole milliseconds):

            connect_timeout: one dial plus handshake (default 5).
            request_timeout: deadline of one whole call, retries included (default 30).
            min_idle_conns_per_node: connections kept open to each node (default 1).
            max_conns_per_node: cap on connections per node (default 4).
            max_in_flight_per_conn: requests in flight on one connection (default 256).
            max_conn_lifetime: idle connections older than this are closed (default 3600; 0 no
                limit); max_conn_lifetime_jitter: random extra lifetime (default 300).
            max_conn_idle_time: close connections idle this long (default 300; 0 never).
            health_check_period: background pings of every node (default 2; 0 disables).
            keep_alive: TCP keep-alive period (default 15; 0 the OS default; False disables).
            max_dials_per_node: concurrent dials to one node (default 2).
            retry_max_attempts: attempts per call, the first included (default 8; 1 no retry).
            retry_initial_backoff / retry_max_backoff: backoff bounds (default 0.02 / 1).
            retry_budget_ratio: retries as a share of recent calls (default 0.2, 0..10);
                retry_budget_min_per_sec: retries per second always allowed (default 10).
            max_redirects: NotLeader hints one attempt follows (default 3).
            read_from: ReadFrom.LEADER (default) or ReadFrom.ANY_HEALTHY.
            append_batch_max_events / append_batch_max_bytes: limits of the requests that
                concurrent appends to one stream are coalesced into (default 1024 / 4 MiB).
            tls: True for TLS verified against the system roots, or a kimberlite.TLS with a CA,
                a client certificate or a server name (default None: plain TCP).
            on_event: called with a :class:`~kimberlite.ClusterEvent` for every leader change,
                node down or up, connection opened or closed, on a library thread (keep it
                short; it must not disconnect this client). Log records always go to
                ``logging.getLogger("kimberlite")``.

        Raises:
            TypeError, InvalidArgument: a malformed argument or option (nothing is sent).
            ConnectionFailed, ClusterUnavailable, DeadlineExceeded: no seed answered.
            AuthenticationFailed: the server refused the token.
            TLSError: a certificate was refused by either side, or the server has no TLS.
            ForkedProcess: the library was loaded before this process was forked.
        """
        if isinstance(addresses, (str, bytes)) or not isinstance(addresses, Iterable):
            raise TypeError(
                "addresses must be a list of 'host:port' strings, not "
                f"{type(addresses).__name__}"
            )
        addrs: List[str] = list(addresses)
        if not addrs:
            raise InvalidArgument("addresses must hold at least one 'host:port'")
        encoded_addrs = [c_string(f"addresses[{i}]", a, allow_empty=False) for i, a in enumerate(addrs)]
        tenant = uint("tenant_id", tenant_id)
        _check_compat_connect_args(client_name, client_version, auto_reconnect)
        token = None if auth_token is None else c_string("auth_token", auth_token)

        # Convert every option before loading anything, so bad input never reaches C.
        given: Dict[str, Any] = {
            "connect_timeout": connect_timeout, "request_timeout": request_timeout,
            "min_idle_conns_per_node": min_idle_conns_per_node, "max_conns_per_node": max_conns_per_node,
            "max_in_flight_per_conn": max_in_flight_per_conn, "max_conn_lifetime": max_conn_lifetime,
            "max_conn_lifetime_jitter": max_conn_lifetime_jitter, "max_conn_idle_time": max_conn_idle_time,
            "health_check_period": health_check_period, "max_dials_per_node": max_dials_per_node,
            "retry_max_attempts": retry_max_attempts, "retry_initial_backoff": retry_initial_backoff,
            "retry_max_backoff": retry_max_backoff, "retry_budget_min_per_sec": retry_budget_min_per_sec,
            "max_redirects": max_redirects, "append_batch_max_events": append_batch_max_events,
            "append_batch_max_bytes": append_batch_max_bytes,
        }
        settings: List[Tuple[str, Any]] = []
        for name, setter, kind in _OPTIONS:
            value = given[name]
            if value is None:
                continue
            if kind == "u32":
                settings.append((setter, uint(name, value, U32_MAX)))
            else:
                settings.append((setter, millis(name, value, allow_zero=(kind == "ms0"))))
        if keep_alive is not None:
            if keep_alive is False:
                settings.append(("kmb_config_set_keep_alive_ms", _ffi.KEEP_ALIVE_DISABLED))
            elif keep_alive is True:
                raise TypeError("keep_alive must be a number of seconds, or False to disable it")
            else:
                settings.append(("kmb_config_set_keep_alive_ms", millis("keep_alive", keep_alive, allow_zero=True)))
        if retry_budget_ratio is not None:
            if isinstance(retry_budget_ratio, bool) or not isinstance(retry_budget_ratio, (int, float)):
                raise TypeError(f"retry_budget_ratio must be a float, not {type(retry_budget_ratio).__name__}")
            settings.append(("kmb_config_set_retry_budget_ratio", float(retry_budget_ratio)))
        if read_from is not None:
            try:
                settings.append(("kmb_config_set_read_from", int(ReadFrom(read_from))))
            except ValueError:
                raise InvalidArgument(f"read_from must be a ReadFrom value, got {read_from!r}") from None
        settings += tls_settings(tls)

        lib = _ffi.lib()
        cfg = _ffi.ConfigP()
        _ffi.check(lib.kmb_config_new(byref(cfg)))
        try:
            for a in encoded_addrs:
                _ffi.check(lib.kmb_config_add_address(cfg, a))
            _ffi.check(lib.kmb_config_set_tenant(cfg, tenant))
            if token is not None:
                _ffi.check(lib.kmb_config_set_auth_token(cfg, token))
            for setter, value in settings:
                _ffi.check(getattr(lib, setter)(cfg, value))
            observer = _observe.configure(lib, cfg, on_event)
            handle = _ffi.ClientP()
            try:
                _ffi.check(lib.kmb_client_connect(cfg, byref(handle)))
            except BaseException:
                _observe.release(observer)
                raise
        finally:
            lib.kmb_config_free(cfg)
        client: Client = object.__new__(cls)
        client._handle = handle
        client._address = ctypes.cast(handle, ctypes.c_void_p).value  # for kimberlite._speedups
        client._pid = _ffi.pid()
        client._addresses = tuple(addrs)
        client._tenant_id = tenant
        client._reconnects = 0
        client._observer = observer
        client._before_close = []  # kimberlite.aio stops watching the loop descriptor here
        return client

    # --- state ---------------------------------------------------------------------------

    def _h(self) -> Any:
        """The live handle, or the reason there is none (checked before any library call)."""
        if self._pid != _ffi.pid():
            raise ForkedProcess(_FORKED_MESSAGE.format(parent=self._pid, child=_ffi.pid()))
        h = self._handle
        if h is None:
            raise ClientClosed("kimberlite: the client is disconnected")
        return h

    @property
    def closed(self) -> bool:
        """True once disconnect() was called (or in a forked child, where it is unusable)."""
        return self._handle is None or self._pid != _ffi.pid()

    @property
    def addresses(self) -> Tuple[str, ...]:
        """The seed addresses given to connect()."""
        return self._addresses

    @property
    def tenant_id(self) -> TenantId:
        """The tenant every request is made for."""
        return TenantId(self._tenant_id)

    def disconnect(self) -> None:
        """Close every connection and stop the client's background work. Idempotent.

        Calls running in other threads finish (up to the request timeout) or fail with
        ClientClosed. In a forked child it only forgets the parent's client here; the parent's
        connections are not the child's to close.
        """
        h = self._handle
        if h is None:
            return
        self._handle = None  # swap out first: a second disconnect, or __del__, finds nothing
        if self._pid != _ffi.pid():
            return
        for hook in self._before_close:
            hook()
        status = _ffi.lib().kmb_client_close(h)
        _observe.release(self._observer)
        if status not in (_ffi.KMB_OK, _ffi.KMB_ERR_TIMEOUT, _ffi.KMB_ERR_INVALID_HANDLE):
            # Timeout: calls in flight outlived the request timeout, closed all the same.
            # Invalid handle: another thread closed it first.
            raise _ffi.last_error(status)

    close = disconnect

    def __enter__(self) -> "Client":
        self._h()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def __del__(self) -> None:
        # Best effort, and never in a forked child (the handle belongs to the parent).
        try:
            h = self._handle
            if h is None or self._pid != _ffi.pid():
                return
            self._handle = None
            _ffi.lib().kmb_client_close(h)
            _observe.release(self._observer)
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._pid != _ffi.pid():
            state = "forked"
        elif self._handle is None:
            state = "closed"
        else:
            state = "open"
        return (
            f"<kimberlite.Client {state} addresses={list(self._addresses)!r} "
            f"tenant_id={self._tenant_id}>"
        )

    # --- operations ------------------------------------------------------------------------

    def create_stream(
        self,
        name: str,
        data_class: DataClass,
        placement: Optional[Placement] = Placement.GLOBAL,
        custom_region: Optional[str] = None,
    ) -> StreamId:
        """Create a stream, or find the existing stream of that name; returns its id.

        The server is idempotent by name: an existing stream's id is returned (its data class
        stays as first created). placement may be Placement.GLOBAL (or None); the server stores
        every stream globally, so a regional placement (and custom_region) is refused with
        InvalidArgument rather than silently ignored.

        Raises:
            InvalidDataClassError: data_class is not a DataClass value (also an InvalidArgument).
        """
        h = self._h()
        encoded = c_string("name", name, allow_empty=False)
        wire_dc = _stream_class_arg(data_class, placement, custom_region)
        return StreamId(_wait.run(
            lambda: _number(_ffi.lib().kmb_create_stream, h, encoded, wire_dc),
            lambda lib, cb, w: lib.kmb_create_stream_async(h, encoded, wire_dc, cb, w),
            _wait.UINT64, _value,
        ))

    def append(
        self,
        stream_id: int,
        events: Sequence[bytes],
        expected_offset: Optional[int] = None,
    ) -> Offset:
        """Append events to a stream, atomically and in order; returns the first event's offset.

        Args:
            stream_id: the stream's id (from create_stream).
            events: a non-empty list of bytes (bytearray and memoryview are copied).
            expected_offset: None appends at the end of the stream; otherwise the append succeeds
                only if the stream's length equals it (else OffsetMismatch).

        Exactly once: an acknowledged append is in the stream once and no retry writes it
        twice. Every request carries an idempotency key; a send whose outcome was lost is re-sent
        with the same key, and a server announcing ``idempotent-append`` answers with the
        original result. Against a server without it (Kimberlite 0.8) the library reads the
        stream back and compares bytes, which cannot tell these events from identical ones
        another writer appended at the same offset: make events unique there. With
        expected_offset None, other writers taking the tail never raise OffsetMismatch.

        Raises:
            OutcomeUnknown: the events may or may not be in the stream; read it before appending
                them again.
        """
        h = self._h()
        sid = uint("stream_id", stream_id)
        expected = None if expected_offset is None else byref(c_uint64(uint("expected_offset", expected_offset)))
        arr, lengths, count = _event_arrays(events)
        return Offset(_wait.run(
            lambda: _number(_ffi.lib().kmb_append, h, sid, arr, lengths, count, expected),
            lambda lib, cb, w: lib.kmb_append_async(h, sid, arr, lengths, count, expected, cb, w),
            _wait.UINT64, _value,
        ))

    def read(self, stream_id: int, from_offset: int = 0, max_bytes: Optional[int] = 1024 * 1024) -> ReadResult:
        """Read events of a stream from from_offset, up to about max_bytes of payload.

        Returns a list of Event (a ReadResult, which also has next_offset and has_more). At
        least one event comes back when any exists at from_offset. max_bytes defaults to 1 MiB
        (None: the library default, also 1 MiB). A stream id of this tenant that does not exist
        reads as empty; one of another tenant raises StreamNotFound. Loop with
        result.next_offset while result.has_more, or use read_all().
        """
        h = self._h()
        sid = uint("stream_id", stream_id)
        start = uint("from_offset", from_offset)
        limit = 0 if max_bytes is None else uint("max_bytes", max_bytes, minimum=1)
        fast = _native.speedups()
        if fast is not None:
            addr = self._address
            return _wait.run_native(
                fast,
                lambda: fast.read(addr, sid, start, limit),
                lambda w: fast.read_interruptible(addr, sid, start, limit, w),
                _read_finish,
            )

        def blocking() -> ReadResult:
            ptr = _ffi.EventsP()
            _ffi.check(_ffi.lib().kmb_read(h, sid, start, limit, byref(ptr)))
            return _read_result(ptr)

        return _wait.run(
            blocking,
            lambda lib, cb, w: lib.kmb_read_async(h, sid, start, limit, cb, w),
            _wait.EVENTS, _read_finish,
        )

    def read_all(self, stream_id: int, from_offset: int = 0, max_bytes: Optional[int] = None) -> Iterator[Event]:
        """Iterate over every event of a stream from from_offset, one read() page at a time."""
        offset = from_offset
        while True:
            page = self.read(stream_id, offset, max_bytes)
            yield from page
            if not page.has_more or not page:
                return
            offset = page.next_offset

    def subscribe(
        self,
        stream_id: int,
        from_offset: int = 0,
        initial_credits: int = 128,
        consumer_group: Optional[str] = None,
        low_water: Optional[int] = None,
        refill: Optional[int] = None,
        *,
        timeout: Optional[Number] = None,
    ) -> Subscription:
        """Follow a stream from from_offset: a :class:`~kimberlite.Subscription` to iterate
        (``for`` or ``async for``) over its events as they commit.

        Args:
            initial_credits: events the server may push ahead of the application (0: 128).
            low_water: grant more credits when the balance falls below this (None:
                ``max(initial_credits // 4, 1)``); refill: credits per grant (None: back up to
                initial_credits).
            consumer_group: must be None (the server has no consumer groups).
            timeout: seconds one wait for an event may last before DeadlineExceeded (None: no
                limit); next_event(timeout=...) overrides it per call.

        The subscription survives lost connections and failovers (every event once, in order).
        """
        return Subscription._open(self, self._h(), stream_id, from_offset, initial_credits, low_water,
                                  refill, consumer_group, timeout)

    read_events = read_all

    # --- the official SDK's bookkeeping ------------------------------------------------------

    @property
    def last_request_id(self) -> Optional[int]:
        """Always None: the library does not report the request ids of successful calls (a
        failure carries its own in KimberliteError.request_id)."""
        return None

    def reconnect(self) -> None:
        """Make one round trip to the cluster (a ping).

        The client re-dials lost connections and follows leader changes by itself, so there is
        nothing to re-create; this only checks that the cluster answers. It raises
        ClientClosed after disconnect().
        """
        self.ping()
        self._reconnects += 1

    @property
    def reconnect_count(self) -> int:
        """How many times reconnect() succeeded on this client."""
        return self._reconnects

    def stream_length(self, stream_id: int) -> int:
        """The number of events in a stream (its next offset). StreamNotFound if none."""
        h = self._h()
        sid = uint("stream_id", stream_id)
        return _wait.run(
            lambda: _number(_ffi.lib().kmb_stream_length, h, sid),
            lambda lib, cb, w: lib.kmb_stream_length_async(h, sid, cb, w),
            _wait.UINT64, _value,
        )

    def sync(self) -> None:
        """Ask the leader to flush its projections (appends are durable once acknowledged)."""
        h = self._h()
        _wait.run(
            lambda: _ffi.check(_ffi.lib().kmb_sync(h)),
            lambda lib, cb, w: lib.kmb_sync_async(h, cb, w),
            _wait.STATUS, _nothing,
        )

    def ping(self) -> None:
        """One round trip to the leader (or any node when no leader is known)."""
        h = self._h()
        _wait.run(
            lambda: _ffi.check(_ffi.lib().kmb_ping(h)),
            lambda lib, cb, w: lib.kmb_ping_async(h, cb, w),
            _wait.STATUS, _nothing,
        )

    def server_info(self) -> ServerInfo:
        """What the leader (or a node) says about itself."""
        h = self._h()

        def blocking() -> ServerInfo:
            ptr = _ffi.ServerInfoP()
            _ffi.check(_ffi.lib().kmb_server_info(h, byref(ptr)))
            return _server_info(ptr)

        return _wait.run(
            blocking,
            lambda lib, cb, w: lib.kmb_server_info_async(h, cb, w),
            _wait.SERVER_INFO, lambda _v, addr: _server_info(ctypes.cast(addr or 0, _ffi.ServerInfoP)),
        )

    def stats(self) -> ClientStats:
        """A snapshot of the client's counters (no network traffic).

        Keys: "nodes" (a list, each with "address", "role", "healthy", "open_conns",
        "idle_conns", "in_flight", "dials", "dial_failures"), "leader", "leader_view",
        "operations", "errors", "retries", "redirects", "leader_changes", "latency_p50_ns",
        "latency_p90_ns", "latency_p99_ns", "latency_max_ns", "subscriptions" (open now),
        "resubscribes" (times one moved to another connection or node), "async_waits" (calls of
        kimberlite.aio that waited on the loop's thread, see event_loop_wait_us) and
        "async_wait_misses" (of them, those that went on in the background), "loop_calls" (calls
        of kimberlite.aio whose answer the event loop read itself, see kimberlite.aio) and
        "loop_settled" (of them, those answered on the loop), "loop_idle_spins" (times an event
        loop polled briefly for an answer instead of sleeping; the Node binding's loop does).
        """
        h = self._h()
        lib = _ffi.lib()
        ptr = c_void_p()
        _ffi.check(lib.kmb_client_stats_json(h, byref(ptr)))
        try:
            text = ctypes.string_at(ptr).decode("utf-8")
        finally:
            lib.kmb_string_free(ptr)
        result: ClientStats = json.loads(text)
        return result

    def metrics_text(self) -> str:
        """The client's metrics in the Prometheus text format (no network traffic).

        Counters, per-node gauges and per-operation latency histograms, named
        ``kimberlite_client_*``: serve it on your own ``/metrics``, e.g. in Flask
        ``return client.metrics_text(), 200, {"Content-Type": "text/plain; version=0.0.4"}``.
        """
        h = self._h()
        lib = _ffi.lib()
        ptr = c_void_p()
        _ffi.check(lib.kmb_client_metrics_text(h, byref(ptr)))
        try:
            return ctypes.string_at(ptr).decode("utf-8")
        finally:
            lib.kmb_string_free(ptr)


def _stream_class_arg(data_class: Any, placement: Any, custom_region: Any) -> int:
    """The wire data class for create_stream's arguments, which it checks."""
    if isinstance(data_class, bool) or not isinstance(data_class, int):
        raise TypeError(f"data_class must be a DataClass, not {type(data_class).__name__}")
    try:
        dc = DataClass(data_class)
    except ValueError:
        raise InvalidDataClassError(
            f"data_class must be a DataClass value (0..{max(DataClass)}), got {data_class!r}") from None
    if placement is not None and placement is not Placement.GLOBAL:
        raise InvalidArgument(
            f"placement must be Placement.GLOBAL: this server stores every stream globally, got {placement!r}")
    if custom_region is not None:
        raise InvalidArgument("custom_region is only meaningful with Placement.CUSTOM, which is not supported")
    return dc.wire_value


def _read_finish(_value: int, address: Optional[int]) -> ReadResult:
    """A completed kmb_read_async's events (by address) as a ReadResult; frees them."""
    return _read_result(ctypes.cast(address or 0, _ffi.EventsP))


def _read_result(ptr: Any) -> ReadResult:
    """A ReadResult copied out of a kmb_events_t, which it frees."""
    lib = _ffi.lib()
    try:
        ev = ptr.contents
        n = ev.count
        data, lengths, offsets = ev.data, ev.lengths, ev.offsets
        events = [
            Event(offsets[i], ctypes.string_at(data[i], lengths[i]) if lengths[i] else b"")
            for i in range(n)
        ]
        return ReadResult(events, ev.next_offset, bool(ev.has_more))
    finally:
        lib.kmb_events_free(ptr)


def _check_compat_connect_args(client_name: Any, client_version: Any, auto_reconnect: Any) -> None:
    """Checks the official SDK's connect arguments, which have no effect here."""
    if not isinstance(client_name, str):
        raise TypeError(f"client_name must be a str, not {type(client_name).__name__}")
    if not isinstance(client_version, str):
        raise TypeError(f"client_version must be a str, not {type(client_version).__name__}")
    if not isinstance(auto_reconnect, bool):
        raise TypeError(f"auto_reconnect must be a bool, not {type(auto_reconnect).__name__}")


def _event_arrays(events: Any) -> Tuple[Any, Any, int]:
    """C arrays (pointers, lengths) over the events' bytes, and the count. No copy for bytes."""
    if isinstance(events, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"events must be a list of bytes, not a single {type(events).__name__}; "
            "wrap one event in a list: [data]"
        )
    try:
        items = list(events)
    except TypeError:
        raise TypeError(f"events must be a list of bytes, not {type(events).__name__}") from None
    if not items:
        raise InvalidArgument("Cannot append empty event list (events must hold at least one event)")
    bufs: List[bytes] = []
    total = 0
    for i, e in enumerate(items):
        if type(e) is bytes:
            b = e
        elif isinstance(e, (bytes, bytearray, memoryview)):
            b = bytes(e)
        elif isinstance(e, str):
            raise TypeError(f"events[{i}] is a str; encode it to bytes first, e.g. s.encode('utf-8')")
        else:
            raise TypeError(f"events[{i}] must be bytes, not {type(e).__name__}")
        total += len(b)
        bufs.append(b)
    if total > _ffi.MAX_BATCH_BYTES:
        raise InvalidArgument(
            f"events hold {total} bytes; one append carries at most {_ffi.MAX_BATCH_BYTES} bytes "
            "(split the batch)"
        )
    n = len(bufs)
    arr = (c_char_p * n)(*bufs)
    lengths = (c_size_t * n)(*[len(b) for b in bufs])
    return arr, lengths, n


def _number(fn: Callable[..., int], *args: object) -> int:
    """A blocking call whose result is one uint64 out-parameter (its last argument)."""
    out = c_uint64()
    _ffi.check(fn(*args, byref(out)))
    return out.value


def _value(value: int, _result: Optional[int]) -> int:
    return value


def _nothing(_value: int, _result: Optional[int]) -> None:
    return None


def _server_info(ptr: "ctypes._Pointer[_ffi.ServerInfoStruct]") -> ServerInfo:
    """A ServerInfo from a library-allocated kmb_server_info_t, which it frees."""
    try:
        si = ptr.contents
        caps = tuple(
            (si.capabilities[i] or b"").decode("utf-8", "replace") for i in range(si.capability_count)
        )
        try:
            mode = ClusterMode(si.cluster_mode)
        except ValueError:
            mode = si.cluster_mode  # a mode this version does not know
        return ServerInfo(
            build_version=(si.build_version or b"").decode("utf-8", "replace"),
            protocol_version=si.protocol_version,
            capabilities=caps,
            uptime_secs=si.uptime_secs,
            cluster_mode=mode,
            tenant_count=si.tenant_count,
        )
    finally:
        _ffi.lib().kmb_server_info_free(ptr)
