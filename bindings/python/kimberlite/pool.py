"""Pool: the official SDK's pool interface, over one shared, thread-safe Client.

A :class:`Client` already pools and pipelines connections to every node and may be shared by
any number of threads, so a pool of clients would only multiply sockets. :class:`Pool` keeps
the official SDK's shape (acquire, release, with_client, stats, shutdown) and its one useful
promise, a cap on concurrent borrowers (``max_size``), over a single client connected at the
first acquire::

    with Pool("localhost:5432", tenant_id=1, max_size=8) as pool:
        with pool.acquire() as client:
            client.append(stream_id, [b"event"])
        offset = pool.with_client(lambda c: c.append(stream_id, [b"other"]))
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar, Union

from .client import Client
from .errors import ClientClosed, DeadlineExceeded, InvalidArgument
from .types import DataClass, Event, Offset, Placement, ReadResult, StreamId, TenantId

__all__ = ["Pool", "PooledClient", "PoolStats"]

T = TypeVar("T")


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of a :class:`Pool`.

    Attributes:
        max_size: the cap on concurrent borrowers.
        open: 1 while the shared client is connected, else 0 (before the first acquire, after
            shutdown).
        idle: borrower slots free right now (max_size - in_use).
        in_use: PooledClients borrowed and not yet released or discarded.
        shutdown: True once shutdown() was called.
    """

    max_size: int
    open: int
    idle: int
    in_use: int
    shutdown: bool


PoolStats.__module__ = "kimberlite"


class Pool:
    """At most ``max_size`` concurrent borrowers of one shared :class:`Client`.

    Args:
        address: one seed ``"host:port"``, or a list of them (every node of a cluster is worth
            giving: the client fails over between them).
        tenant_id: the tenant every request is made for.
        auth_token: the handshake token, or None.
        max_size: the cap on PooledClients out at once (> 0).
        acquire_timeout_ms: how long acquire() waits for a free slot (0 waits forever).
        idle_timeout_ms: idle connections are closed after this long (0 never); the client's
            ``max_conn_idle_time``.
        connect_options: any keyword option of :meth:`Client.connect` (request_timeout...).

    Thread-safe; a context manager (shutdown on exit).
    """

    def __init__(
        self,
        address: Union[str, Sequence[str]],
        tenant_id: int,
        *,
        auth_token: Optional[str] = None,
        max_size: int = 10,
        acquire_timeout_ms: int = 30_000,
        idle_timeout_ms: int = 300_000,
        **connect_options: Any,
    ) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int):
            raise TypeError(f"max_size must be an int, not {type(max_size).__name__}")
        if max_size <= 0:
            raise InvalidArgument("max_size must be > 0")
        for name, value in (("acquire_timeout_ms", acquire_timeout_ms), ("idle_timeout_ms", idle_timeout_ms)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < 0:
                raise InvalidArgument(f"{name} must be >= 0, got {value}")
        self._addresses = [address] if isinstance(address, str) else list(address)
        self._tenant_id = tenant_id
        self._auth_token = auth_token
        self._max_size = max_size
        self._acquire_timeout_ms = acquire_timeout_ms
        self._connect_options = dict(connect_options)
        self._connect_options.setdefault("max_conn_idle_time", idle_timeout_ms / 1000)
        self._cond = threading.Condition()
        self._client: Optional[Client] = None
        self._connecting = False
        self._in_use = 0
        self._shutdown = False

    @property
    def max_size(self) -> int:
        """The cap on concurrent borrowers."""
        return self._max_size

    def _shared_client(self) -> Client:
        # Connect once, outside the lock (a dial may take seconds); others wait for it.
        with self._cond:
            while True:
                if self._shutdown:
                    raise ClientClosed("Pool is closed")
                if self._client is not None:
                    return self._client
                if not self._connecting:
                    self._connecting = True
                    break
                self._cond.wait()
        try:
            client = Client.connect(self._addresses, self._tenant_id, self._auth_token, **self._connect_options)
        except BaseException:
            with self._cond:
                self._connecting = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._connecting = False
            self._cond.notify_all()
            if self._shutdown:
                client.disconnect()
                raise ClientClosed("Pool is closed")
            self._client = client
            return client

    def acquire(self) -> "PooledClient":
        """Borrow the shared client; waits up to acquire_timeout_ms for a free slot.

        Raises:
            ClientClosed: the pool was shut down ("Pool is closed").
            DeadlineExceeded: no slot was free in time (also a TimeoutError).
            ConnectionFailed, ...: the first connect failed.
        """
        deadline = None if self._acquire_timeout_ms == 0 else time.monotonic() + self._acquire_timeout_ms / 1000
        with self._cond:
            while True:
                if self._shutdown:
                    raise ClientClosed("Pool is closed")
                if self._in_use < self._max_size:
                    self._in_use += 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise DeadlineExceeded(
                        f"Pool.acquire: all {self._max_size} clients stayed in use for {self._acquire_timeout_ms} ms")
                self._cond.wait(remaining)
        try:
            client = self._shared_client()
        except BaseException:
            self._give_back()
            raise
        return PooledClient(self, client)

    def _give_back(self) -> None:
        with self._cond:
            self._in_use -= 1
            self._cond.notify_all()

    def with_client(self, fn: Callable[["PooledClient"], T]) -> T:
        """Call fn with a borrowed client and release it afterwards, whatever fn does."""
        with self.acquire() as client:
            return fn(client)

    def stats(self) -> PoolStats:
        """A snapshot of the pool (no network traffic)."""
        with self._cond:
            open_ = 1 if self._client is not None and not self._client.closed else 0
            return PoolStats(self._max_size, open_, self._max_size - self._in_use, self._in_use, self._shutdown)

    def shutdown(self) -> None:
        """Disconnect the shared client and refuse later acquires. Idempotent.

        Waiting acquires fail with ClientClosed; calls of borrowed clients fail with ClientClosed
        from then on.
        """
        with self._cond:
            if self._shutdown:
                return
            self._shutdown = True
            client, self._client = self._client, None
            self._cond.notify_all()
        if client is not None:
            client.disconnect()

    close = shutdown

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        s = self.stats()
        return f"<kimberlite.Pool max_size={s.max_size} in_use={s.in_use} shutdown={s.shutdown}>"


class PooledClient:
    """One borrow of a :class:`Pool`'s shared client; the client's calls until released.

    ``release()`` gives the slot back; ``discard()`` does the same (the shared client heals its
    own connections, so there is nothing to throw away). Both are idempotent. A context
    manager (releases on exit). After release every call raises ClientClosed
    ("PooledClient has been released").
    """

    __slots__ = ("_pool", "_client", "__weakref__")

    def __init__(self, pool: Pool, client: Client) -> None:
        self._pool: Optional[Pool] = pool
        self._client = client

    def _c(self) -> Client:
        if self._pool is None:
            raise ClientClosed("PooledClient has been released")
        return self._client

    def release(self) -> None:
        """Give the slot back to the pool. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._give_back()

    def discard(self) -> None:
        """As release(): the shared client replaces broken connections itself. Idempotent."""
        self.release()

    @property
    def released(self) -> bool:
        """True once release() or discard() was called."""
        return self._pool is None

    def __enter__(self) -> "PooledClient":
        self._c()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def tenant_id(self) -> TenantId:
        """The tenant every request is made for."""
        return self._c().tenant_id

    @property
    def last_request_id(self) -> Optional[int]:
        """As Client.last_request_id (always None)."""
        return self._c().last_request_id

    def create_stream(self, name: str, data_class: DataClass, placement: Optional[Placement] = Placement.GLOBAL,
                      custom_region: Optional[str] = None) -> StreamId:
        """As :meth:`Client.create_stream`."""
        return self._c().create_stream(name, data_class, placement, custom_region)

    def append(self, stream_id: int, events: Sequence[bytes], expected_offset: Optional[int] = None) -> Offset:
        """As :meth:`Client.append` (expected_offset None appends at the end)."""
        return self._c().append(stream_id, events, expected_offset)

    def read(self, stream_id: int, from_offset: int = 0, max_bytes: Optional[int] = 1024 * 1024) -> ReadResult:
        """As :meth:`Client.read`."""
        return self._c().read(stream_id, from_offset, max_bytes)

    def read_all(self, stream_id: int, from_offset: int = 0, max_bytes: Optional[int] = None) -> Iterator[Event]:
        """As :meth:`Client.read_all`."""
        return self._c().read_all(stream_id, from_offset, max_bytes)

    def stream_length(self, stream_id: int) -> int:
        """As :meth:`Client.stream_length`."""
        return self._c().stream_length(stream_id)

    def sync(self) -> None:
        """As :meth:`Client.sync`."""
        self._c().sync()

    def __repr__(self) -> str:
        return f"<kimberlite.PooledClient {'released' if self._pool is None else 'borrowed'}>"


Pool.__module__ = "kimberlite"
PooledClient.__module__ = "kimberlite"
