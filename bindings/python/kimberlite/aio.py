"""asyncio client over the library's asynchronous C API.

    from kimberlite.aio import AsyncClient

    async with await AsyncClient.connect(["localhost:5432"], tenant_id=1) as client:
        sid = await client.create_stream("events", DataClass.NON_PHI)
        offsets = await asyncio.gather(*(client.append(sid, [b"%d" % i]) for i in range(1000)))

Each call starts the library's ``kmb_*_async`` function and awaits a future; the library calls
back on one of its own threads, and the callback hands the result to the event loop with
``loop.call_soon_threadsafe``. No thread is started per call, so a thousand concurrent awaits
need no thousand threads (connect and disconnect, which have no asynchronous form in the C API,
run in the loop's default executor). Every call of one AsyncClient may come from any task.

A read, stream_length or ping that finds an idle connection goes through the event loop itself
instead (kmb_client_loop_fd), for every AsyncClient that connect made: its request leaves from
the loop's thread, the loop watches the library's descriptor (``loop.add_reader``), and when the
answer arrives the loop reads it and settles the future there. Nothing waits for the answer, so
the loop is never held, and one call awaited at a time costs one wake-up of the loop instead of
hand-offs between threads. A call that shares its connection with others, is retried or reaches
its deadline goes on in the background. ``client.stats()`` counts them: "loop_calls",
"loop_settled".

With ``event_loop_wait_us`` (AsyncClient.connect; default 0, off, so the loop is never held;
kmb_client_set_async_patience_us), a read, stream_length or ping awaited while no other call of
this module is unsettled first waits for its answer on the loop's thread, for up to that many
microseconds: one call awaited at a time then costs one wake-up instead of hand-offs between
threads (300 suits a server on the same host). A call that takes longer goes on in the
background (a read is sent again), and a slow or distant server turns the wait off by itself. In
``asyncio.gather`` only the first call may wait; the others are sent at once, together.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from ctypes import byref, c_int, c_uint64
from typing import Any, AsyncIterator, Dict, Optional, Sequence, Tuple

from . import _ffi
from ._convert import c_string, uint
from .client import Client, _event_arrays, _read_result, _stream_class_arg
from .errors import KimberliteError
from .types import DataClass, Event, Offset, Placement, ReadResult, StreamId, TenantId

__all__ = ["AsyncClient"]

# Calls in flight: token -> (loop, future, kind, the id of the loop's thread). The token is the
# C user_data.
_pending: Dict[int, Tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", str, int]] = {}
_pending_lock = threading.Lock()
_tokens = itertools.count(1)
# Calls started and not yet settled on their loop (under _pending_lock): a call started while
# another is unsettled does not wait on the loop's thread (see AsyncClient._loop_wait).
_unsettled = 0

#: The default of AsyncClient.connect's event_loop_wait_us.
DEFAULT_EVENT_LOOP_WAIT_US = 0
_MAX_EVENT_LOOP_WAIT_US = 1000  # KMB_MAX_ASYNC_PATIENCE_US


def _wait_arg(v: Any) -> int:
    """event_loop_wait_us, checked."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"event_loop_wait_us must be an int, not {type(v).__name__}")
    if not 0 <= v <= _MAX_EVENT_LOOP_WAIT_US:
        raise ValueError(f"event_loop_wait_us must be between 0 and {_MAX_EVENT_LOOP_WAIT_US} microseconds, not {v}")
    return v


def _settled() -> None:
    global _unsettled
    with _pending_lock:
        _unsettled -= 1


def _settle(fut: "asyncio.Future[Any]", kind: str, value: Any, exc: Optional[BaseException]) -> None:
    # On the event loop's thread.
    _settled()
    if kind == "events" and value is not None:
        value = _read_result(value)  # copies the events out and frees them, even if cancelled
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


def _complete(token: Optional[int], status: int, value: Any, kind: str) -> None:
    # On a library thread, with the GIL (ctypes takes it): as little as possible here.
    with _pending_lock:
        entry = _pending.pop(token or 0, None)
    if entry is None:
        if kind == "events" and value:
            _ffi.lib().kmb_events_free(value)
        return
    loop, fut, _, loop_thread = entry
    exc: Optional[BaseException] = None
    if status != _ffi.KMB_OK:
        exc = _ffi.last_error(status)  # this thread's last error describes this status
        if kind == "events" and value:
            _ffi.lib().kmb_events_free(value)
        value = None
    elif kind == "events" and not value:
        value = None
    try:
        if threading.get_ident() == loop_thread:  # it ended during its start, on the loop's thread
            loop.call_soon(_settle, fut, kind, value, exc)
        else:
            loop.call_soon_threadsafe(_settle, fut, kind, value, exc)
    except RuntimeError:  # the loop was closed meanwhile: nobody awaits the result
        _settled()
        if kind == "events" and value:
            _ffi.lib().kmb_events_free(value)


def _on_status(user_data: Optional[int], status: int) -> None:
    try:
        _complete(user_data, status, None, "status")
    except BaseException:  # an exception must never unwind into the library's thread
        pass


def _on_uint64(user_data: Optional[int], status: int, value: int) -> None:
    try:
        _complete(user_data, status, value, "uint64")
    except BaseException:
        pass


def _on_events(user_data: Optional[int], status: int, events: Any) -> None:
    try:
        _complete(user_data, status, events if events else None, "events")
    except BaseException:
        pass


# One C function pointer per callback type, alive for the life of the process.
_STATUS_CB = _ffi.STATUS_CB(_on_status)
_UINT64_CB = _ffi.UINT64_CB(_on_uint64)
_EVENTS_CB = _ffi.EVENTS_CB(_on_events)
_CALLBACKS = {"status": _STATUS_CB, "uint64": _UINT64_CB, "events": _EVENTS_CB}


async def _call(kind: str, fn_name: str, *args: Any) -> Any:
    """Start kmb_<fn>_async(*args, callback, token) and await its result."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[Any]" = loop.create_future()
    global _unsettled
    token = next(_tokens)
    with _pending_lock:
        _pending[token] = (loop, fut, kind, threading.get_ident())
        _unsettled += 1
    try:
        status = getattr(_ffi.lib(), fn_name)(*args, _CALLBACKS[kind], token)
    except BaseException:
        with _pending_lock:
            if _pending.pop(token, None) is not None:
                _unsettled -= 1
        raise
    if status != _ffi.KMB_OK:  # the callback will not run
        with _pending_lock:
            _pending.pop(token, None)
            _unsettled -= 1
        raise _ffi.last_error(status)
    return await fut


class AsyncClient:
    """An asyncio client: the calls of :class:`~kimberlite.Client`, as coroutines.

    Make one with ``await AsyncClient.connect(...)`` (the same arguments and keyword options as
    Client.connect); ``async with`` disconnects at the end. Like Client, one AsyncClient serves
    any number of concurrent tasks, and may be shared with threads through :attr:`client`.
    """

    __slots__ = ("_client", "_wait_us", "_lib_wait_us", "_loop", "_loop_fd")

    def __init__(self, client: Client, event_loop_wait_us: int = DEFAULT_EVENT_LOOP_WAIT_US) -> None:
        """Wrap a connected Client (its connections are shared). event_loop_wait_us: see the
        module's documentation (0 to 1000 microseconds)."""
        if not isinstance(client, Client):
            raise TypeError(f"AsyncClient wraps a Client, not {type(client).__name__}; use AsyncClient.connect(...)")
        self._wait_us = _wait_arg(event_loop_wait_us)
        self._client = client
        self._lib_wait_us = 0  # what the library has now
        self._loop: Optional[asyncio.AbstractEventLoop] = None  # the loop that watches _loop_fd
        self._loop_fd = -1

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let loop drive the client's lone quick calls (kmb_client_loop_fd): it watches the
        library's descriptor and reads the answers itself. On the loop's thread. A loop that
        cannot watch descriptors leaves every call in the background."""
        lib = _ffi.lib()
        h = self._client._h()
        fd = c_int(-1)
        if lib.kmb_client_loop_fd(h, byref(fd)) != _ffi.KMB_OK:
            return
        try:
            loop.add_reader(fd.value, self._ready)
        except (NotImplementedError, ValueError, OSError):
            return
        self._loop, self._loop_fd = loop, fd.value
        self._client._before_close.append(self._unwatch)
        lib.kmb_client_loop_ready(h)  # from now on the library may take calls through the loop

    def _ready(self) -> None:
        """The descriptor is readable: read the answers here; their futures settle with
        call_soon (_complete sees the loop's thread)."""
        h = self._client._handle
        if h is not None:
            _ffi.lib().kmb_client_loop_ready(h)

    def _unwatch(self) -> None:
        """Stop watching before the library closes the descriptor (Client.disconnect runs it,
        on whatever thread closes). The selector must forget the descriptor on the loop's own
        thread; from another thread that waits for it, briefly: a loop that is closed or not
        running has nothing to forget, or never selects again."""
        loop, fd = self._loop, self._loop_fd
        self._loop = None
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                loop.remove_reader(fd)
                return
        except RuntimeError:  # no loop runs on this thread
            pass
        done = threading.Event()

        def forget() -> None:
            loop.remove_reader(fd)
            done.set()
        try:
            loop.call_soon_threadsafe(forget)
        except RuntimeError:  # closed meanwhile
            return
        if loop.is_running():
            done.wait(1.0)

    def _loop_wait(self, h: Any) -> None:
        """Give the quick call about to start the client's wait while no call is unsettled
        (a call that ended on the loop's thread stays unsettled until its future is set)."""
        if self._wait_us == 0 and self._lib_wait_us == 0:
            return  # off: nothing to tell the library
        with _pending_lock:
            want = self._wait_us if _unsettled == 0 else 0
        if want != self._lib_wait_us and _ffi.lib().kmb_client_set_async_patience_us(h, want) == _ffi.KMB_OK:
            self._lib_wait_us = want

    @classmethod
    async def connect(
        cls,
        addresses: Sequence[str],
        tenant_id: int,
        auth_token: Optional[str] = None,
        *,
        event_loop_wait_us: int = DEFAULT_EVENT_LOOP_WAIT_US,
        **options: Any,
    ) -> "AsyncClient":
        """Connect as Client.connect does (the dial runs in the loop's default executor).
        event_loop_wait_us: see the module's documentation."""
        _wait_arg(event_loop_wait_us)  # refused before the dial
        loop = asyncio.get_running_loop()
        client = await loop.run_in_executor(
            None, lambda: Client.connect(addresses, tenant_id, auth_token, **options))
        ac = cls(client, event_loop_wait_us)
        ac._watch(loop)
        return ac

    @property
    def client(self) -> Client:
        """The underlying (thread-safe) Client."""
        return self._client

    @property
    def tenant_id(self) -> TenantId:
        """The tenant every request is made for."""
        return self._client.tenant_id

    @property
    def last_request_id(self) -> Optional[int]:
        """As Client.last_request_id (always None)."""
        return self._client.last_request_id

    @property
    def closed(self) -> bool:
        """True once disconnect() was called."""
        return self._client.closed

    async def disconnect(self) -> None:
        """Close every connection (in the default executor: closing waits for calls in flight,
        whose callbacks need this loop's thread free). Idempotent."""
        if self._client.closed:
            return
        self._unwatch()  # here, on the loop's thread
        await asyncio.get_running_loop().run_in_executor(None, self._client.disconnect)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def create_stream(
        self,
        name: str,
        data_class: DataClass,
        placement: Optional[Placement] = Placement.GLOBAL,
        custom_region: Optional[str] = None,
    ) -> StreamId:
        """As :meth:`Client.create_stream`."""
        h = self._client._h()
        encoded = c_string("name", name, allow_empty=False)
        wire_dc = _stream_class_arg(data_class, placement, custom_region)
        return StreamId(await _call("uint64", "kmb_create_stream_async", h, encoded, wire_dc))

    async def append(
        self,
        stream_id: int,
        events: Sequence[bytes],
        expected_offset: Optional[int] = None,
    ) -> Offset:
        """As :meth:`Client.append`: None appends at the end; exactly once, and an
        OutcomeUnknown means the events may or may not be in the stream."""
        h = self._client._h()
        sid = uint("stream_id", stream_id)
        expected = None if expected_offset is None else byref(c_uint64(uint("expected_offset", expected_offset)))
        arr, lengths, count = _event_arrays(events)
        # The library copies the events before kmb_append_async returns.
        return Offset(await _call("uint64", "kmb_append_async", h, sid, arr, lengths, count, expected))

    async def read(self, stream_id: int, from_offset: int = 0, max_bytes: Optional[int] = 1024 * 1024) -> ReadResult:
        """As :meth:`Client.read`: a list of Event with next_offset and has_more."""
        h = self._client._h()
        sid = uint("stream_id", stream_id)
        start = uint("from_offset", from_offset)
        limit = 0 if max_bytes is None else uint("max_bytes", max_bytes, minimum=1)
        self._loop_wait(h)
        result = await _call("events", "kmb_read_async", h, sid, start, limit)
        if result is None:  # success without events cannot happen; guard anyway
            raise KimberliteError("kimberlite: kmb_read_async succeeded without a result", code="KMB_ERR_INTERNAL")
        assert isinstance(result, ReadResult)
        return result

    async def read_all(self, stream_id: int, from_offset: int = 0,
                       max_bytes: Optional[int] = None) -> AsyncIterator[Event]:
        """Iterate over every event of a stream from from_offset, one read() page at a time."""
        offset = from_offset
        while True:
            page = await self.read(stream_id, offset, max_bytes)
            for event in page:
                yield event
            if not page.has_more or not page:
                return
            offset = page.next_offset

    async def stream_length(self, stream_id: int) -> int:
        """As :meth:`Client.stream_length`."""
        h = self._client._h()
        sid = uint("stream_id", stream_id)
        self._loop_wait(h)
        value: int = await _call("uint64", "kmb_stream_length_async", h, sid)
        return value

    async def sync(self) -> None:
        """As :meth:`Client.sync`."""
        await _call("status", "kmb_sync_async", self._client._h())

    async def ping(self) -> None:
        """As :meth:`Client.ping`."""
        h = self._client._h()
        self._loop_wait(h)
        await _call("status", "kmb_ping_async", h)

    def __repr__(self) -> str:
        return "<kimberlite.aio.AsyncClient " + repr(self._client)[len("<kimberlite.Client "):]
