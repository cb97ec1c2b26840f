"""The C API of libkimberlite as ctypes declarations, and the lazy loader.

Every foreign function gets its argtypes and restype here, once. The library is loaded at the
first Client.connect, never at import: the Go runtime inside it does not survive fork(), and
pre-fork servers (gunicorn, uWSGI) import the application in the master before forking.

Search order: $KIMBERLITE_LIB when set, else the package folder (where the wheel puts the
library), then the repository's build/ folder (development checkouts).

ctypes.CDLL releases the GIL for the duration of every call, so a call waiting on the network
never stops other Python threads. Do not change this to PyDLL.
"""

from __future__ import annotations

import ctypes
import os
import threading
from ctypes import (
    POINTER, Structure, c_char_p, c_double, c_int, c_int32, c_size_t, c_uint8, c_uint32,
    c_uint64, c_void_p,
)
from pathlib import Path
from typing import List, Optional, Tuple

from ._options_gen import OPTION_SETTERS
from .errors import ForkedProcess, KimberliteError

LIB_NAME = "libkimberlite.so"

#: KMB_KEEP_ALIVE_DISABLED from the header.
KEEP_ALIVE_DISABLED = 2**64 - 1
#: KMB_MAX_BATCH_BYTES from the header: the largest encoded append batch.
MAX_BATCH_BYTES = 16 * 1024 * 1024

KMB_OK = 0
KMB_ERR_INVALID_HANDLE = 3
KMB_ERR_TIMEOUT = 7
KMB_ERR_FORKED = 11
KMB_ERR_CLOSED = 6
KMB_ERR_SUBSCRIPTION_CLOSED = 16
#: KMB_NO_TIMEOUT from the header: kmb_subscription_next waits until a batch or the close.
NO_TIMEOUT = 2**64 - 1


class Config(Structure):
    """Opaque kmb_config_t."""


class ClientHandle(Structure):
    """Opaque kmb_client_t."""


class SubscriptionHandle(Structure):
    """Opaque kmb_subscription_t."""


class Events(Structure):
    """kmb_events_t (read-only, library-allocated; fields only ever appended)."""

    _fields_ = [
        ("count", c_size_t),
        ("data", POINTER(POINTER(c_uint8))),
        ("lengths", POINTER(c_size_t)),
        ("offsets", POINTER(c_uint64)),
        ("next_offset", c_uint64),
        ("has_more", c_int),
    ]


class ServerInfoStruct(Structure):
    """kmb_server_info_t (read-only, library-allocated; fields only ever appended)."""

    _fields_ = [
        ("build_version", c_char_p),
        ("protocol_version", c_uint32),
        ("capability_count", c_size_t),
        ("capabilities", POINTER(c_char_p)),
        ("uptime_secs", c_uint64),
        ("cluster_mode", c_int32),
        ("tenant_count", c_uint32),
    ]


ConfigP = POINTER(Config)
ClientP = POINTER(ClientHandle)
EventsP = POINTER(Events)
ServerInfoP = POINTER(ServerInfoStruct)
SubscriptionP = POINTER(SubscriptionHandle)

# (name, restype, argtypes). Statuses are int32.
_S = c_int32
_SIGNATURES: List[Tuple[str, object, List[object]]] = [
    ("kmb_version", c_char_p, []),
    ("kmb_version_number", c_int32, []),
    ("kmb_status_name", c_char_p, [c_int32]),
    ("kmb_status_is_retryable", c_int, [c_int32]),
    ("kmb_last_error_message", c_char_p, []),
    ("kmb_last_error_status", c_int32, []),
    ("kmb_last_error_server_code", c_int32, []),
    ("kmb_last_error_request_id", c_uint64, []),
    ("kmb_config_new", _S, [POINTER(ConfigP)]),
    ("kmb_config_free", None, [ConfigP]),
    ("kmb_config_add_address", _S, [ConfigP, c_char_p]),
    ("kmb_config_set_tenant", _S, [ConfigP, c_uint64]),
    ("kmb_config_set_auth_token", _S, [ConfigP, c_char_p]),
    ("kmb_client_connect", _S, [ConfigP, POINTER(ClientP)]),
    ("kmb_client_close", _S, [ClientP]),
    ("kmb_create_stream", _S, [ClientP, c_char_p, c_int32, POINTER(c_uint64)]),
    # events: const uint8_t *const *; passed as an array of c_char_p pointing into bytes objects.
    ("kmb_append", _S, [ClientP, c_uint64, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                        POINTER(c_uint64), POINTER(c_uint64)]),
    ("kmb_read", _S, [ClientP, c_uint64, c_uint64, c_uint64, POINTER(EventsP)]),
    ("kmb_events_free", None, [EventsP]),
    ("kmb_stream_length", _S, [ClientP, c_uint64, POINTER(c_uint64)]),
    ("kmb_sync", _S, [ClientP]),
    ("kmb_ping", _S, [ClientP]),
    ("kmb_server_info", _S, [ClientP, POINTER(ServerInfoP)]),
    ("kmb_server_info_free", None, [ServerInfoP]),
    ("kmb_client_stats_json", _S, [ClientP, POINTER(c_void_p)]),
    # kimberlite.aio's wait on the loop's thread (event_loop_wait_us).
    ("kmb_client_set_async_patience_us", _S, [ClientP, c_uint32]),
    # An event loop's descriptor for quick _async calls (kimberlite.aio drives it with add_reader).
    ("kmb_client_loop_fd", _S, [ClientP, POINTER(c_int)]),
    ("kmb_client_loop_ready", _S, [ClientP]),
    ("kmb_client_loop_idle", _S, [ClientP, c_int]),
    ("kmb_string_free", None, [c_void_p]),
    # Subscriptions (kimberlite.subscription).
    ("kmb_subscribe", _S, [ClientP, c_uint64, c_uint64, c_uint32, c_uint32, c_uint32, POINTER(SubscriptionP)]),
    ("kmb_subscription_next", _S, [SubscriptionP, c_uint64, POINTER(EventsP)]),
    ("kmb_subscription_grant_credits", _S, [SubscriptionP, c_uint32]),
    ("kmb_subscription_id", _S, [SubscriptionP, POINTER(c_uint64)]),
    ("kmb_subscription_credits", _S, [SubscriptionP, POINTER(c_uint32)]),
    ("kmb_subscription_next_offset", _S, [SubscriptionP, POINTER(c_uint64)]),
    ("kmb_subscription_close_reason", _S, [SubscriptionP, POINTER(c_void_p)]),
    ("kmb_subscription_node", _S, [SubscriptionP, POINTER(c_void_p)]),
    ("kmb_subscription_close", _S, [SubscriptionP]),
    ("kmb_subscription_free", None, [SubscriptionP]),
    # Logs, events and metrics (see _observe.py for the callback types).
    ("kmb_config_set_log_callback", _S, [ConfigP, c_int32, c_void_p, c_void_p]),
    ("kmb_config_set_event_callback", _S, [ConfigP, c_void_p, c_void_p]),
    ("kmb_client_metrics_text", _S, [ClientP, POINTER(c_void_p)]),
    ("kmb_event_kind_name", c_char_p, [c_int32]),
]
# The _async variants (kimberlite.aio): callbacks run on library threads.
STATUS_CB = ctypes.CFUNCTYPE(None, c_void_p, c_int32)
UINT64_CB = ctypes.CFUNCTYPE(None, c_void_p, c_int32, c_uint64)
EVENTS_CB = ctypes.CFUNCTYPE(None, c_void_p, c_int32, EventsP)
_SIGNATURES += [
    ("kmb_create_stream_async", _S, [ClientP, c_char_p, c_int32, UINT64_CB, c_void_p]),
    ("kmb_append_async", _S, [ClientP, c_uint64, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                              POINTER(c_uint64), UINT64_CB, c_void_p]),
    ("kmb_read_async", _S, [ClientP, c_uint64, c_uint64, c_uint64, EVENTS_CB, c_void_p]),
    ("kmb_stream_length_async", _S, [ClientP, c_uint64, UINT64_CB, c_void_p]),
    ("kmb_sync_async", _S, [ClientP, STATUS_CB, c_void_p]),
    ("kmb_ping_async", _S, [ClientP, STATUS_CB, c_void_p]),
]
# The option setters, generated from pool.Options.
_SIGNATURES += [(name, _S, [ConfigP, argtype]) for name, argtype in OPTION_SETTERS]

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_pid: Optional[int] = None
_lib_path: Optional[str] = None


_pid = os.getpid()


def pid() -> int:
    """This process's id, without a system call: every call checks it (a client or the library
    used in a forked child is refused), and os.getpid() is a system call each time."""
    return _pid


def _after_fork_in_child() -> None:
    # A thread of the parent may have held the lock at fork(); it does not exist in the child.
    global _lock, _pid
    _lock = threading.Lock()
    _pid = os.getpid()


# os.fork() (and multiprocessing, and any C extension that forks as the C API asks, calling
# PyOS_AfterFork_Child) runs this in the child before anything else.
os.register_at_fork(after_in_child=_after_fork_in_child)


def candidate_paths() -> List[Path]:
    """Where the library is looked for, in order: $KIMBERLITE_LIB alone when it is set (an
    override never falls back to another copy), else the package folder (an installed wheel),
    then the repository's build/ folder (development checkouts)."""
    env = os.environ.get("KIMBERLITE_LIB")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    # bindings/python/kimberlite/_ffi.py -> the repository root is three folders up.
    return [here / LIB_NAME, here.parents[2] / "build" / LIB_NAME]


def _declare(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes in _SIGNATURES:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise KimberliteError(
                f"{lib._name} lacks {name}: the library is older than this kimberlite package",
                code="KMB_ERR_UNKNOWN",
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes


def lib() -> ctypes.CDLL:
    """The loaded library, loading it on first use (in this process).

    Raises ForkedProcess, without touching the library, in a child of a process that loaded it.
    """
    global _lib, _lib_pid, _lib_path
    loaded = _lib
    if loaded is not None:
        if _lib_pid != _pid:
            raise ForkedProcess(
                "kimberlite: the library was loaded before fork() and cannot be used in the child "
                "process; connect in the child only (do not connect in a pre-fork master)"
            )
        return loaded
    with _lock:
        if _lib is not None:
            return lib()
        tried = []
        for path in candidate_paths():
            if not path.is_file():
                tried.append(f"{path} (missing)")
                continue
            try:
                handle = ctypes.CDLL(str(path))
            except OSError as exc:
                tried.append(f"{path} ({exc})")
                continue
            _declare(handle)
            _lib, _lib_pid, _lib_path = handle, _pid, str(path)
            return handle
        raise KimberliteError(
            "kimberlite: cannot load libkimberlite.so; tried: " + "; ".join(tried)
            + ". Set KIMBERLITE_LIB to the library's path."
        )


def loaded_path() -> Optional[str]:
    """The path of the loaded library, or None while it is not loaded in this process."""
    return _lib_path if _lib_pid == _pid else None


def last_error(status: int) -> KimberliteError:
    """The exception for a non-OK status, from this thread's last error (call right after)."""
    from .errors import _class_for_status

    l = lib()
    name = (l.kmb_status_name(status) or b"KMB_ERR_UNKNOWN").decode("utf-8", "replace")
    message = (l.kmb_last_error_message() or b"").decode("utf-8", "replace")
    server_code = int(l.kmb_last_error_server_code())
    request_id = int(l.kmb_last_error_request_id())
    cls = _class_for_status(name, status)
    return cls(
        message or name,
        code=name,
        server_code=None if server_code < 0 else server_code,
        request_id=request_id or None,
        retryable=bool(l.kmb_status_is_retryable(status)),
    )


def check(status: int) -> None:
    """Raise the exception for status unless it is KMB_OK."""
    if status != KMB_OK:
        raise last_error(status)
