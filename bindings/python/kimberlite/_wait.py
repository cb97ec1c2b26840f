"""Blocking calls that Ctrl-C interrupts at once, without losing track of the call.

Python runs signal handlers (KeyboardInterrupt) only between bytecodes of the main thread, so a
call blocked inside the library for its whole request timeout would hold Ctrl-C back for up to
that long. On the main thread, a call therefore starts the library's _async variant with a C
waiter (kimberlite.h "Waiters") whose patience is SLICE_MS: the call runs on this thread, as the
blocking call does, and most calls have completed when the start returns. One that takes longer,
or whose wait a signal interrupts (SIGINT goes to the main thread), goes on in the library's
background, and this thread waits for it in slices of SLICE_MS with the GIL released; between
slices Python runs pending signal handlers. Other threads never receive KeyboardInterrupt and
keep the direct blocking call.

When a signal handler raises (KeyboardInterrupt, or anything else) during the wait, the call is
not abandoned: it goes on in the library to its normal end (an append keeps its idempotency key
and its retries), and the exception carries a ``concurrent.futures.Future`` of its outcome as
``kimberlite_pending`` plus a note saying so. ``exc.kimberlite_pending.result()`` returns what the
call would have returned, or raises its error; for an append that is how its outcome is learned.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import threading
from ctypes import POINTER, c_char_p, c_int, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, Optional, TypeVar

from . import _ffi
from .errors import KimberliteError

#: Longest wait without looking at pending signals, in milliseconds.
SLICE_MS = 100

T = TypeVar("T")

# A ctypes function object carries its argtypes, so the _async functions are taken from a second
# CDLL object on the same (already loaded, so not reloaded) library: their declarations here,
# with callbacks as plain addresses, cannot clash with anyone else's declarations of them.
_own: Optional[ctypes.CDLL] = None
_own_lock = threading.Lock()
_spare: Optional[int] = None  # the main thread's waiter, reused between calls


def _lib() -> ctypes.CDLL:
    global _own
    loaded = _ffi.lib()  # raises ForkedProcess in a child, loads the library on first use
    own = _own
    if own is not None and own._name == _ffi.loaded_path():
        return own
    with _own_lock:
        own = ctypes.CDLL(_ffi.loaded_path() or loaded._name)
        for name, res, args in _SIGNATURES:
            fn = getattr(own, name)
            fn.argtypes, fn.restype = args, res
        _own = own
        return own


_P = c_void_p
#: (name, restype, argtypes) of what this module calls; callbacks pass as plain addresses.
_SIGNATURES = [
    ("kmb_create_stream_async", c_int32, [_ffi.ClientP, c_char_p, c_int32, _P, _P]),
    ("kmb_append_async", c_int32, [_ffi.ClientP, c_uint64, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                                   POINTER(c_uint64), _P, _P]),
    ("kmb_read_async", c_int32, [_ffi.ClientP, c_uint64, c_uint64, c_uint64, _P, _P]),
    ("kmb_stream_length_async", c_int32, [_ffi.ClientP, c_uint64, _P, _P]),
    ("kmb_sync_async", c_int32, [_ffi.ClientP, _P, _P]),
    ("kmb_ping_async", c_int32, [_ffi.ClientP, _P, _P]),
    ("kmb_server_info_async", c_int32, [_ffi.ClientP, _P, _P]),
    ("kmb_waiter_new", c_int32, [POINTER(c_void_p)]),
    ("kmb_waiter_set_patience", None, [_P, c_uint32]),
    ("kmb_waiter_free", None, [_P]),
    ("kmb_waiter_reset", None, [_P]),
    ("kmb_waiter_wait", c_int, [_P, c_uint32]),
    ("kmb_waiter_status", c_int32, [_P]),
    ("kmb_waiter_value", c_uint64, [_P]),
    ("kmb_waiter_take_result", c_void_p, [_P]),
    ("kmb_waiter_record_error", c_int32, [_P]),
    ("kmb_waiter_finish", c_int32, [_P, POINTER(c_uint64), POINTER(c_void_p)]),
]


# Which waiter callback an _async function takes.
STATUS, UINT64, EVENTS, SERVER_INFO = "status", "uint64", "events", "server_info"


_callbacks: "tuple[Optional[ctypes.CDLL], dict[str, int]]" = (None, {})


def _callback(lib: ctypes.CDLL, kind: str) -> int:
    """The address of the waiter callback for kind in lib (looked up once per library)."""
    global _callbacks
    owner, found = _callbacks
    if owner is not lib:
        owner, found = lib, {}
        _callbacks = (owner, found)
    addr = found.get(kind)
    if addr is None:
        addr = found[kind] = ctypes.cast(getattr(lib, f"kmb_waiter_{kind}_callback"), c_void_p).value or 0
    return addr


def interruptible() -> bool:
    """Whether calls on this thread wait in slices (only the main thread gets KeyboardInterrupt)."""
    return threading.current_thread() is threading.main_thread()


def run(
    blocking: Callable[[], T],
    start: Callable[[ctypes.CDLL, int, int], int],
    kind: str,
    finish: Callable[[int, Optional[int]], T],
) -> T:
    """Run one library call.

    blocking() makes the direct call (off the main thread). start(lib, callback, waiter) starts
    the _async variant and returns its status; finish(value, result_address) turns the
    completed call's number or result pointer (whose ownership it takes) into the return value.
    """
    if not interruptible():
        return blocking()
    global _spare
    lib = _lib()
    w = _take_waiter(lib)
    # A signal handler may raise as soon as the start call returns, before its status is
    # stored: then the call may be running, so it is handed over all the same.
    status: Optional[int] = None
    try:
        status = start(lib, _callback(lib, kind), w)
        if status != _ffi.KMB_OK:
            _spare = w
            _ffi.check(status)
        while not lib.kmb_waiter_wait(w, SLICE_MS):
            pass
    except BaseException as exc:
        if status is None or status == _ffi.KMB_OK:
            _hand_over(lib, w, finish, exc, surely_started=status is not None)
        raise
    try:
        return _complete(lib, w, finish)
    finally:
        _spare = w


def _take_waiter(lib: ctypes.CDLL) -> int:
    """The main thread's spare waiter, or a new one; give it back by setting _spare."""
    global _spare
    w, _spare = _spare, None
    if w is None:
        out = c_void_p()
        _ffi.check(lib.kmb_waiter_new(ctypes.byref(out)))
        assert out.value is not None  # KMB_OK always gives a waiter
        w = out.value
        # The call runs on this thread for up to a slice (or until a signal arrives for it),
        # so most calls have completed when the start call returns.
        lib.kmb_waiter_set_patience(w, SLICE_MS)
    return w


def run_native(
    speedups: Any,
    call: Callable[[], Any],
    call_interruptible: Callable[[int], Any],
    finish: Callable[[int, Optional[int]], T],
) -> T:
    """Run one call through the C accelerator (kimberlite._native), with run()'s guarantees.

    call() makes the blocking call (off the main thread); call_interruptible(waiter) makes it on
    the main thread, waiting in slices and running signal handlers in C. Each returns the result
    or the library's non-OK status as an int. A signal handler that raises while the call is
    pending leaves it to finish in the background as in run(); finish is what run() would use.
    """
    if not interruptible():
        out = call()
    else:
        global _spare
        lib = _lib()
        w = _take_waiter(lib)
        try:
            out = call_interruptible(w)
        except BaseException as exc:
            if speedups.interrupted():  # still pending on w
                _hand_over(lib, w, finish, exc)
            else:  # completed (or never started): w is ready for the next call
                _spare = w
            raise
        _spare = w
    if type(out) is int:
        raise _ffi.last_error(out)
    return out  # type: ignore[no-any-return]


def _complete(lib: ctypes.CDLL, w: int, finish: Callable[[int, Optional[int]], T]) -> T:
    """The completed call's return value, or its error raised (this thread's last error). The
    waiter is ready for another call afterwards."""
    value, result = c_uint64(), c_void_p()
    status = lib.kmb_waiter_finish(w, ctypes.byref(value), ctypes.byref(result))
    if status != _ffi.KMB_OK:
        raise _ffi.last_error(status)
    return finish(value.value, result.value)


#: How long an interrupted call whose start is not known to have succeeded is waited for; a
#: started call always completes within its request timeout and the client's close.
UNSURE_START_WAIT = 3600.0


def _hand_over(
    lib: ctypes.CDLL, w: int, finish: Callable[[int, Optional[int]], T], exc: BaseException,
    surely_started: bool = True,
) -> None:
    """Let the interrupted call finish on a thread of its own, its outcome in a Future."""
    future: "concurrent.futures.Future[T]" = concurrent.futures.Future()

    def resolve() -> None:
        waited = 0.0
        while not lib.kmb_waiter_wait(w, 1000):
            waited += 1.0
            if not surely_started and waited >= UNSURE_START_WAIT:
                # Interrupted as the call was being started, and it never completed: it did
                # not start. The waiter is left allocated, in case a late callback comes.
                future.set_exception(KimberliteError(
                    "kimberlite: the call was interrupted while it was being started and did not run"))
                return
        try:
            try:
                future.set_result(_complete(lib, w, finish))
            except BaseException as err:  # the call's own error is its outcome
                future.set_exception(err)
        finally:
            lib.kmb_waiter_free(w)

    threading.Thread(target=resolve, name="kimberlite-interrupted-call", daemon=True).start()
    try:
        exc.kimberlite_pending = future  # type: ignore[attr-defined]
        exc.add_note(
            "kimberlite: the call was still running; it goes on to its end in the background: "
            "exc.kimberlite_pending.result() gives its outcome (for an append: its first offset, "
            "or its error)"
        )
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass
