"""kimberlite: the Python client of Kimberlite, over libkimberlite (ctypes).

    from kimberlite import Client, DataClass

    client = Client.connect(addresses=["localhost:5432"], tenant_id=1)
    stream_id = client.create_stream("events", DataClass.NON_PHI)
    offset = client.append(stream_id, [b"hello"])

Importing this package loads nothing native: libkimberlite is loaded at the first
Client.connect, so a pre-fork server may import the application in its master process safely.
"""

from __future__ import annotations

import sys as _sys

# Python 3.9 installs its signal handlers without SA_ONSTACK (3.10 added it, bpo-43390). A signal
# that lands on a thread running Go code then runs its handler on a goroutine's small stack, which
# crashes the process: refused here, at import, rather than crashing later (tests/test_signals.py).
if _sys.version_info < (3, 10):
    raise ImportError(
        "kimberlite needs Python 3.10 or later (this is Python %d.%d): before 3.10, Python "
        "installs signal handlers without SA_ONSTACK, and a signal arriving while the library's "
        "Go code runs would crash the process" % _sys.version_info[:2]
    )
del _sys

from . import _ffi, _native, errors
from ._observe import ClusterEvent
from .client import Client
from .pool import Pool, PooledClient, PoolStats
from .retry import DEFAULT_RETRY, RetryPolicy, with_retry
from .subscription import Subscription, SubscriptionEvent
from .errors import *  # noqa: F401,F403 (the public exception classes)
from .tls import TLS, TLSError
from .types import (
    ClientStats, ClusterMode, DataClass, Event, NodeStats, Offset, Placement, ReadFrom, ReadResult,
    ServerInfo, StreamId, TenantId,
)

__version__ = "0.1.0"

# Written as a literal plus += of errors.__all__, the forms type checkers read: with
# --strict (no implicit re-export) only names listed here are importable from the package.
__all__ = [
    "Client", "DataClass", "Placement", "ReadFrom", "ClusterMode", "Event", "ReadResult",
    "ServerInfo", "ClientStats", "NodeStats", "ClusterEvent", "library_version", "library_path", "speedups_path",
    "__version__",
    "StreamId", "Offset", "TenantId",
    "Pool", "PooledClient", "PoolStats", "RetryPolicy", "DEFAULT_RETRY", "with_retry",
    "Subscription", "SubscriptionEvent",
]
__all__ += errors.__all__
__all__ += ["TLS", "TLSError"]


def library_version() -> str:
    """The version of the loaded libkimberlite (loads it if needed), e.g. "0.1.0"."""
    return (_ffi.lib().kmb_version() or b"").decode("ascii", "replace")


def library_path() -> "str | None":
    """The path libkimberlite was loaded from in this process, or None while it is not loaded."""
    return _ffi.loaded_path()


def speedups_path() -> "str | None":
    """The file of the C accelerator of Client.read in use (loads libkimberlite if needed), or
    None when every call goes through ctypes alone: it was not built (no Python headers at build
    time) or KIMBERLITE_NO_SPEEDUPS is set. Results and errors are the same either way."""
    mod = _native.speedups()
    return None if mod is None else str(mod.__file__)
