"""Log records and cluster events from libkimberlite, delivered to Python.

The library formats each record as one line and calls a ctypes callback on its own delivery
thread (one record at a time; the calls that caused them never wait). The callback takes the
GIL for as long as one ``logging`` call or one ``on_event`` call lasts and returns: no Python
thread is started or kept waiting. Records go to ``logging.getLogger("kimberlite")`` with the
library's levels mapped to ``logging`` levels. Configure logging before connecting: a client
connected while no handler would receive its records (only our NullHandler) sends none, and only
records at or above the logger's effective level at connect time cross into Python, so an
application never pays for the GIL that unwanted records would take; the logger's level is asked
again for each record that does cross.

Pitfalls handled here: the callback objects live as long as the module (a collected ctypes
callback would crash the library thread); a callback never raises into C (exceptions are
reported by ``logging`` itself or dropped); after interpreter shutdown has begun, records are
dropped instead of calling into a half-torn-down interpreter; in a forked child the library does
not run at all, so nothing is delivered there.
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import logging
import threading
from ctypes import CFUNCTYPE, c_char_p, c_int32, c_uint64, c_void_p
from typing import Any, Callable, Dict, NamedTuple, Optional

__all__ = ["ClusterEvent", "LOGGER"]

#: The logger every record of the library goes to. A NullHandler, as the logging HOWTO asks of
#: libraries: records show only where the application configured logging.
LOGGER = logging.getLogger("kimberlite")
LOGGER.addHandler(logging.NullHandler())

# KMB_LOG_* (the values of Go's log/slog) to logging levels.
_LEVELS = ((8, logging.ERROR), (4, logging.WARNING), (0, logging.INFO))
KMB_LOG_DEBUG = -4
KMB_LOG_INFO = 0

_EVENT_KINDS = {1: "leader_changed", 2: "node_down", 3: "node_up", 4: "conn_opened", 5: "conn_closed"}


class ClusterEvent(NamedTuple):
    """Something the client saw happen to the cluster, given to ``Client.connect(on_event=...)``.

    kind: "leader_changed", "node_down", "node_up", "conn_opened" or "conn_closed" (later
    versions may add kinds). node: the address it is about; for "leader_changed" the new
    leader's. previous: the leader before a "leader_changed" ("" if none was known). view: the new
    leader's view (raft term), 0 for other kinds. reason: why a node went down or a connection
    closed, "" otherwise.
    """

    kind: str
    node: str
    previous: str
    view: int
    reason: str


LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
EVENT_CALLBACK = CFUNCTYPE(None, c_void_p, c_int32, c_char_p, c_char_p, c_uint64, c_char_p)

_shutting_down = False


def _on_exit() -> None:
    global _shutting_down
    _shutting_down = True


atexit.register(_on_exit)


def _logging_configured() -> bool:
    """Whether a record of LOGGER would reach a handler other than our NullHandler."""
    logger: Optional[logging.Logger] = LOGGER
    while logger is not None:
        if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def _kmb_level(py: int) -> int:
    """The library's level for a logging level: the least record that logger would want."""
    if py <= logging.DEBUG:
        return KMB_LOG_DEBUG
    if py <= logging.INFO:
        return KMB_LOG_INFO
    if py <= logging.WARNING:
        return 4
    return 8


def _py_level(level: int) -> int:
    for threshold, py in _LEVELS:
        if level >= threshold:
            return py
    return logging.DEBUG


def _on_log(_ud: Any, level: int, message: Optional[bytes]) -> None:
    if _shutting_down:
        return
    try:
        py = _py_level(level)
        if LOGGER.isEnabledFor(py):
            LOGGER.log(py, "%s", (message or b"").decode("utf-8", "replace"))
    except Exception:  # never raise into the library's thread
        pass


_handlers: Dict[int, Callable[[ClusterEvent], Any]] = {}
_handlers_lock = threading.Lock()
_ids = itertools.count(1)


def _text(b: Optional[bytes]) -> str:
    return (b or b"").decode("utf-8", "replace")


def _on_event(ud: Optional[int], kind: int, node: Optional[bytes], previous: Optional[bytes],
              view: int, reason: Optional[bytes]) -> None:
    if _shutting_down or ud is None:
        return
    with _handlers_lock:
        handler = _handlers.get(ud)
    if handler is None:
        return
    ev = ClusterEvent(_EVENT_KINDS.get(kind, "unknown"), _text(node), _text(previous), int(view), _text(reason))
    try:
        handler(ev)
    except Exception:
        LOGGER.exception("kimberlite: the on_event handler raised")


# Kept for the life of the process: the library may call them until every client is closed.
_LOG_CB = LOG_CALLBACK(_on_log)
_EVENT_CB = EVENT_CALLBACK(_on_event)


def configure(lib: ctypes.CDLL, cfg: Any, on_event: Optional[Callable[[ClusterEvent], Any]]) -> Optional[int]:
    """Set the log callback (always) and the event callback (when on_event is given) on cfg.

    Returns the key of the registered handler, to give to release() once the client is closed.
    """
    from ._ffi import check

    if _logging_configured():
        floor = _kmb_level(LOGGER.getEffectiveLevel())
        check(lib.kmb_config_set_log_callback(cfg, floor, _LOG_CB, None))
    if on_event is None:
        return None
    if not callable(on_event):
        raise TypeError(f"on_event must be callable, not {type(on_event).__name__}")
    key = next(_ids)
    with _handlers_lock:
        _handlers[key] = on_event
    try:
        check(lib.kmb_config_set_event_callback(cfg, _EVENT_CB, c_void_p(key)))
    except BaseException:
        release(key)
        raise
    return key


def release(key: Optional[int]) -> None:
    """Forget the handler registered under key (after its client was closed, or failed to connect)."""
    if key is None:
        return
    with _handlers_lock:
        _handlers.pop(key, None)
