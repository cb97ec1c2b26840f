"""Subscriptions: follow a stream as its events commit.

    with client.subscribe(stream_id, from_offset=0) as sub:
        for event in sub:                 # blocks; Ctrl-C interrupts it
            handle(event.offset, event.data)

    async for event in client.subscribe(stream_id):   # asyncio: no thread waits
        ...

A subscription belongs to the client, not to a connection: the library resubscribes by itself
after a lost connection, a lost node or a leader change, from the offset after the last event it
delivered, so every event arrives once, in order. Flow control is by credits: the server pushes
at most ``initial_credits`` events ahead of the application, and the library grants more as
events are taken, so a slow consumer slows the pushes down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import itertools
import threading
import time
from collections import deque
from ctypes import CFUNCTYPE, byref, c_int32, c_uint32, c_uint64, c_void_p
from typing import TYPE_CHECKING, Any, Deque, Dict, NamedTuple, Optional, Tuple

from . import _ffi
from ._convert import U32_MAX, uint
from .errors import (
    Busy, ClientClosed, DeadlineExceeded, ForkedProcess, InvalidArgument, KimberliteError,
    SubscriptionClosed,
)

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Subscription", "SubscriptionEvent"]

# A blocking wait is made of waits this long, so that Python runs its signal handlers (Ctrl-C)
# between them; the GIL is released during each.
_SLICE_SECONDS = 0.2

_CLIENT_CANCELLED = "ClientCancelled"


class SubscriptionEvent(NamedTuple):
    """One event delivered by a subscription: its stream offset and its bytes."""

    offset: int
    data: bytes


SubscriptionEvent.__module__ = "kimberlite"

_Unset = object()


def _seconds_to_ms(name: str, seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(seconds).__name__}")
    if seconds != seconds or seconds < 0:
        raise InvalidArgument(f"{name} must be >= 0 seconds or None, got {seconds}")
    if seconds == float("inf"):
        return _ffi.NO_TIMEOUT
    return min(int(seconds * 1000 + 0.999), _ffi.NO_TIMEOUT - 1)


class Subscription:
    """A subscription to one stream, made by :meth:`Client.subscribe`.

    Iterate over it (``for``, or ``async for`` under asyncio) to receive
    :class:`SubscriptionEvent` values in offset order, or call :meth:`next_event`. Use it as a
    context manager, or call :meth:`unsubscribe`, to end it. Iteration ends when this program
    unsubscribes; when the server ends the subscription (the stream was deleted...) it raises
    :class:`~kimberlite.SubscriptionClosed`, after every event received before. A wait longer
    than the timeout raises :class:`~kimberlite.DeadlineExceeded` and the subscription stays
    usable: iterate again to go on.

    Receive from one place at a time: either blocking calls (from any threads, one at a time)
    or ``async for`` on one event loop, not both at once. The other members may be used from
    any thread.
    """

    __slots__ = (
        "_handle", "_pid", "_client", "_stream_id", "_timeout", "_lock", "_buffer", "_next_offset",
        "_end", "_unsubscribed", "_inflight", "__weakref__",
    )

    def __init__(self) -> None:
        raise TypeError("use Client.subscribe(...) to create a Subscription")

    @classmethod
    def _open(
        cls,
        client: "Client",
        handle: Any,
        stream_id: int,
        from_offset: int,
        initial_credits: int,
        low_water: Optional[int],
        refill: Optional[int],
        consumer_group: Optional[str],
        timeout: Optional[float],
    ) -> "Subscription":
        sid = uint("stream_id", stream_id)
        start = uint("from_offset", from_offset)
        credits = uint("initial_credits", initial_credits, U32_MAX)
        low = 0 if low_water is None else uint("low_water", low_water, U32_MAX)
        more = 0 if refill is None else uint("refill", refill, U32_MAX)
        if consumer_group is not None:
            raise InvalidArgument(
                "consumer_group is not supported: the server does not implement consumer groups; "
                "pass None"
            )
        if timeout is not None:
            _seconds_to_ms("timeout", timeout)
        out = _ffi.SubscriptionP()
        _ffi.check(_ffi.lib().kmb_subscribe(handle, sid, start, credits, low, more, byref(out)))
        sub: Subscription = object.__new__(cls)
        sub._handle = out
        sub._pid = _ffi.pid()
        sub._client = client  # keeps the client alive as long as its subscription
        sub._stream_id = sid
        sub._timeout = timeout
        sub._lock = threading.Lock()
        sub._buffer = deque()
        sub._next_offset = start
        sub._end = None
        sub._unsubscribed = False
        sub._inflight = None
        return sub

    _handle: Optional[Any]
    _pid: int
    _client: "Client"
    _stream_id: int
    _timeout: Optional[float]
    _lock: threading.Lock
    _buffer: Deque[SubscriptionEvent]
    _next_offset: int
    _end: Optional[KimberliteError]  # why no more events will come, once known
    _unsubscribed: bool
    _inflight: Optional["_AsyncNext"]  # the pending async next, if any

    # --- state -----------------------------------------------------------------------------

    def _h(self) -> Any:
        if self._pid != _ffi.pid():
            raise ForkedProcess(
                f"kimberlite: this subscription was made in process {self._pid} and cannot be "
                f"used in the forked child {_ffi.pid()}; subscribe again in the child"
            )
        h = self._handle
        if h is None:
            raise ClientClosed("kimberlite: the subscription was released")
        return h

    def _read(self, fn: str, ctype: Any) -> int:
        out = ctype()
        _ffi.check(getattr(_ffi.lib(), fn)(self._h(), byref(out)))
        return int(out.value)

    @property
    def stream_id(self) -> int:
        """The stream this subscription follows."""
        return self._stream_id

    @property
    def id(self) -> int:
        """The server's id of the current underlying subscription (it changes when the library
        resubscribes after a failover)."""
        return self._read("kmb_subscription_id", c_uint64)

    @property
    def credits(self) -> int:
        """The credits the server holds for this subscription: how many more events it may push
        before the library grants more."""
        return self._read("kmb_subscription_credits", c_uint32)

    @property
    def next_offset(self) -> int:
        """The offset after the last event this object returned (``from_offset`` before the
        first): where a new subscription would resume."""
        return self._next_offset

    def _string(self, fn: str) -> str:
        lib = _ffi.lib()
        ptr = c_void_p()
        _ffi.check(getattr(lib, fn)(self._h(), byref(ptr)))
        try:
            return ctypes.string_at(ptr).decode("utf-8", "replace")
        finally:
            lib.kmb_string_free(ptr)

    @property
    def close_reason(self) -> Optional[str]:
        """None while open; once closed, the protocol's name of the cause: ``"ClientCancelled"``
        after :meth:`unsubscribe`, ``"ClientClosed"`` after the client disconnected,
        ``"StreamDeleted"``..."""
        if self._handle is None or self._pid != _ffi.pid():
            return _CLIENT_CANCELLED if self._unsubscribed else None
        return self._string("kmb_subscription_close_reason") or None

    @property
    def node(self) -> Optional[str]:
        """The ``"host:port"`` of the node serving the subscription now; None while the library
        resubscribes, and once closed."""
        return self._string("kmb_subscription_node") or None

    @property
    def closed(self) -> bool:
        """True once the subscription is closed (by :meth:`unsubscribe`, by disconnecting the
        client, or by the server)."""
        return self._unsubscribed or self._end is not None or self.close_reason is not None

    # --- flow control and the end -----------------------------------------------------------

    def grant_credits(self, n: int) -> None:
        """Grant the server credits for ``n`` more events now, beyond the automatic refill."""
        count = uint("n", n, U32_MAX, minimum=1)
        _ffi.check(_ffi.lib().kmb_subscription_grant_credits(self._h(), count))

    def unsubscribe(self) -> None:
        """End the subscription; idempotent. Iteration, in any thread or task, then ends.

        Events received but not yet returned are dropped."""
        if self._unsubscribed:
            return
        self._unsubscribed = True
        h = self._handle
        if h is None or self._pid != _ffi.pid():
            return
        status = _ffi.lib().kmb_subscription_close(h)
        if status not in (_ffi.KMB_OK, _ffi.KMB_ERR_INVALID_HANDLE):
            raise _ffi.last_error(status)

    close = unsubscribe

    def __enter__(self) -> "Subscription":
        self._h()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()

    def __del__(self) -> None:
        try:
            h = self._handle
            if h is None or self._pid != _ffi.pid():
                return
            self._handle = None
            _ffi.lib().kmb_subscription_free(h)
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._pid != _ffi.pid():
            state = "forked"
        elif self._unsubscribed or self._end is not None:
            state = "closed"
        else:
            state = "open"
        return f"<kimberlite.Subscription {state} stream_id={self._stream_id} next_offset={self._next_offset}>"

    # --- receiving, blocking ----------------------------------------------------------------

    def _take(self) -> Optional[SubscriptionEvent]:
        """The next buffered event, or None when there is none."""
        if self._unsubscribed:
            self._buffer.clear()
            return None
        if self._buffer:
            ev = self._buffer.popleft()
            self._next_offset = ev.offset + 1
            return ev
        return None

    def _finished(self) -> bool:
        """True when no event will come any more: after unsubscribe, or once the end is known."""
        return self._unsubscribed or self._end is not None

    def _raise_end(self) -> None:
        """After the end: return normally for our own unsubscribe, else raise why it ended."""
        if self._unsubscribed:
            return
        assert self._end is not None
        raise self._end

    def _accept(self, status: int, events: Tuple[SubscriptionEvent, ...], error: Optional[KimberliteError]) -> None:
        """Record one next call's outcome (any thread)."""
        if status == _ffi.KMB_OK:
            self._buffer.extend(events)
        elif status in (_ffi.KMB_ERR_SUBSCRIPTION_CLOSED, _ffi.KMB_ERR_CLOSED) and error is not None:
            if isinstance(error, SubscriptionClosed):
                error.subscription_id = self._safe_id()
                error.reason = self._safe_reason()
            self._end = error

    def _safe_id(self) -> Optional[int]:
        try:
            return self.id
        except KimberliteError:
            return None

    def _safe_reason(self) -> Optional[str]:
        try:
            return self.close_reason
        except KimberliteError:
            return None

    def next_event(self, timeout: Any = _Unset) -> Optional[SubscriptionEvent]:
        """The next event, waiting for it; None once this program unsubscribed.

        Args:
            timeout: seconds to wait at most (None: no limit); defaults to the ``timeout``
                given to :meth:`Client.subscribe`.

        Raises:
            DeadlineExceeded: nothing arrived in time; the subscription stays usable.
            SubscriptionClosed: the server ended the subscription for good (``reason`` says
                why); every event received before it was returned first.
            ClientClosed: the client was disconnected.
        """
        if self._pid != _ffi.pid():
            self._h()  # raises ForkedProcess
        wait = self._timeout if timeout is _Unset else timeout
        deadline = None if wait is None else time.monotonic() + _seconds_to_ms("timeout", wait) / 1000
        if self._inflight is not None:
            raise Busy("kimberlite: an async iteration is waiting on this subscription; receive from one place at a time")
        with self._lock:
            while True:
                ev = self._take()
                if ev is not None:
                    return ev
                if self._finished():
                    self._raise_end()
                    return None
                self._wait_blocking(deadline, wait)

    def _wait_blocking(self, deadline: Optional[float], wait: Optional[float]) -> None:
        """One batch (or the end) into the buffer, in short slices without the GIL."""
        lib = _ffi.lib()
        h = self._h()
        ptr = _ffi.EventsP()
        while True:
            slice_s = _SLICE_SECONDS
            if deadline is not None:
                slice_s = min(slice_s, max(0.0, deadline - time.monotonic()))
            status = lib.kmb_subscription_next(h, int(slice_s * 1000), byref(ptr))
            if status == _ffi.KMB_ERR_TIMEOUT and not self._unsubscribed:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineExceeded(
                        f"kimberlite: no event within {wait} s on stream {self._stream_id}; "
                        "the subscription stays open"
                    )
                continue
            if status == _ffi.KMB_OK:
                try:
                    self._accept(status, _events_of(ptr), None)
                finally:
                    lib.kmb_events_free(ptr)
                return
            if self._unsubscribed:
                return
            error = _ffi.last_error(status)
            if status in (_ffi.KMB_ERR_SUBSCRIPTION_CLOSED, _ffi.KMB_ERR_CLOSED):
                self._accept(status, (), error)
                return
            raise error

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> SubscriptionEvent:
        ev = self.next_event()
        if ev is None:
            raise StopIteration
        return ev

    # --- receiving, asyncio -----------------------------------------------------------------

    async def next_event_async(self, timeout: Any = _Unset) -> Optional[SubscriptionEvent]:
        """As :meth:`next_event`, for asyncio: waits without blocking the loop or a thread.

        A cancelled or timed-out wait loses nothing: the batch it was waiting for is kept for
        the next call.
        """
        if self._pid != _ffi.pid():
            self._h()  # raises ForkedProcess
        wait = self._timeout if timeout is _Unset else timeout
        if wait is not None:
            _seconds_to_ms("timeout", wait)
        loop = asyncio.get_running_loop()
        deadline = None if wait is None else loop.time() + wait
        while True:
            ev = self._take()
            if ev is not None:
                return ev
            if self._finished():
                self._raise_end()
                return None
            pending = self._inflight
            if pending is None:
                if self._lock.locked():
                    raise Busy("kimberlite: a blocking call is waiting on this subscription; receive from one place at a time")
                pending = self._inflight = _AsyncNext.start(self, loop)
            elif pending.loop is not loop:
                raise Busy("kimberlite: another event loop is waiting on this subscription")
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                await asyncio.wait_for(asyncio.shield(pending.done), left)
            except asyncio.TimeoutError:
                raise DeadlineExceeded(
                    f"kimberlite: no event within {wait} s on stream {self._stream_id}; "
                    "the subscription stays open"
                ) from None
            if pending.error is not None and not self._unsubscribed:
                error, pending.error = pending.error, None
                raise error

    async def aclose(self) -> None:
        """As :meth:`unsubscribe`, for asyncio: the round trip to the server runs off the loop."""
        if not self._unsubscribed:
            await asyncio.get_running_loop().run_in_executor(None, self.unsubscribe)

    async def __aenter__(self) -> "Subscription":
        self._h()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> SubscriptionEvent:
        ev = await self.next_event_async()
        if ev is None:
            raise StopAsyncIteration
        return ev


def _events_of(ptr: Any) -> Tuple[SubscriptionEvent, ...]:
    ev = ptr.contents
    data, lengths, offsets = ev.data, ev.lengths, ev.offsets
    return tuple(
        SubscriptionEvent(offsets[i], ctypes.string_at(data[i], lengths[i]) if lengths[i] else b"")
        for i in range(ev.count)
    )


# --- asyncio plumbing ------------------------------------------------------------------------

_BATCH_CALLBACK = CFUNCTYPE(None, c_void_p, c_int32, _ffi.EventsP)
_keys = itertools.count(1)
_pending: Dict[int, "_AsyncNext"] = {}  # user_data key -> the call; holds the subscription
_pending_cond = threading.Condition()
_declared_for: Optional[int] = None


class _AsyncNext:
    """One kmb_subscription_next_async in flight; ``done`` resolves on the loop when it ends.

    The library thread only records the outcome here; the subscription's state changes on the
    loop's thread (:meth:`settle`), so a task never sees a half-delivered batch."""

    __slots__ = ("sub", "loop", "done", "status", "batch", "error")

    def __init__(self, sub: Subscription, loop: asyncio.AbstractEventLoop) -> None:
        self.sub = sub
        self.loop = loop
        self.done: "asyncio.Future[None]" = loop.create_future()
        self.status = _ffi.KMB_OK
        self.batch: Tuple[SubscriptionEvent, ...] = ()
        #: a failure other than the end (raised once, by the task that awaits this call)
        self.error: Optional[KimberliteError] = None

    def settle(self) -> None:
        """Hand the outcome to the subscription and wake its task (on the loop's thread, or
        anywhere once the loop is closed)."""
        sub = self.sub
        sub._accept(self.status, self.batch, self.error)
        if sub._end is not None or self.status == _ffi.KMB_OK:
            self.error = None
        if sub._inflight is self:
            sub._inflight = None
        try:
            if not self.done.done():
                self.done.set_result(None)
        except RuntimeError:
            pass  # its loop is closed: nobody waits any more

    @classmethod
    def start(cls, sub: Subscription, loop: asyncio.AbstractEventLoop) -> "_AsyncNext":
        lib = _async_lib()
        handle = sub._h()
        call = cls(sub, loop)
        key = next(_keys)
        with _pending_cond:
            _pending[key] = call
        status = lib.kmb_subscription_next_async(handle, _ffi.NO_TIMEOUT, _on_batch, key)
        if status != _ffi.KMB_OK:
            with _pending_cond:
                _pending.pop(key, None)
            error = _ffi.last_error(status)
            if status in (_ffi.KMB_ERR_SUBSCRIPTION_CLOSED, _ffi.KMB_ERR_CLOSED):
                sub._accept(status, (), error)
                call.done.set_result(None)
            else:
                raise error
        return call


def _async_lib() -> ctypes.CDLL:
    """The library, with the one _async function this module uses declared."""
    global _declared_for
    lib = _ffi.lib()
    if _declared_for != id(lib):
        fn = lib.kmb_subscription_next_async
        fn.restype = c_int32
        fn.argtypes = [_ffi.SubscriptionP, c_uint64, _BATCH_CALLBACK, c_void_p]
        _declared_for = id(lib)
    return lib


def _batch_arrived(user_data: Optional[int], status: int, events: Any) -> None:
    """The library's callback, on a library thread: keep the batch, wake the loop. Must not
    raise and must not block."""
    try:
        lib = _ffi.lib()
        batch: Tuple[SubscriptionEvent, ...] = ()
        error: Optional[KimberliteError] = None
        try:
            if status == _ffi.KMB_OK and events:
                batch = _events_of(events)
            elif status != _ffi.KMB_OK:
                error = _ffi.last_error(status)  # this thread's last error describes it
        finally:
            if events:
                lib.kmb_events_free(events)
        with _pending_cond:
            call = _pending.pop(user_data or 0, None)
        if call is None:
            return
        call.status, call.batch, call.error = status, batch, error
        try:
            call.loop.call_soon_threadsafe(call.settle)
        except RuntimeError:
            call.settle()  # the loop is closed: keep the batch for a later call
        with _pending_cond:
            if not _pending:
                _pending_cond.notify_all()
    except BaseException:  # noqa: BLE001 (nothing may propagate into C)
        pass


_on_batch = _BATCH_CALLBACK(_batch_arrived)


@atexit.register
def _close_at_exit() -> None:
    """Close subscriptions with an async next in flight and wait for their callbacks, so no
    callback enters an interpreter that is shutting down."""
    with _pending_cond:
        subs = [call.sub for call in _pending.values()]
    for sub in subs:
        try:
            h = sub._handle
            if h is not None and sub._pid == _ffi.pid():
                _ffi.lib().kmb_subscription_close(h)
        except Exception:
            pass
    with _pending_cond:
        _pending_cond.wait_for(lambda: not _pending, timeout=5)
