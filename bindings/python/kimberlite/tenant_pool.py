"""TenantPool: one cached :class:`Client` per tenant, least recently used first out.

A Client is bound to one tenant. A multi-tenant application keeps one per tenant it serves; the
pool makes them on demand with a factory, keeps at most ``max_size``, and disconnects those
unused for ``idle_timeout_ms``::

    pool = TenantPool(lambda tid: Client.connect(ADDRESSES, tid, TOKEN), max_size=128)
    offset = pool.with_client(tenant_id, lambda c: c.append(stream_id, [b"event"]))
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Set, Tuple, TypeVar

from .client import Client
from .errors import InvalidArgument

__all__ = ["TenantPool", "TenantPoolStats"]

T = TypeVar("T")


@dataclass(frozen=True)
class TenantPoolStats:
    """A snapshot of a :class:`TenantPool`: cached clients and cumulative counts."""

    size: int
    hits: int
    misses: int
    evictions: int
    idle_evictions: int


class TenantPool:
    """A thread-safe cache of one Client per tenant.

    Args:
        factory: makes the Client of a tenant id (called outside the pool's lock, once per
            tenant even when many threads ask at once).
        max_size: most clients kept; the least recently used is disconnected beyond it (> 0).
        idle_timeout_ms: a client unused this long is disconnected at the next acquire (0 never).

    A client evicted while a :meth:`with_client` call uses it is disconnected when that call
    returns; a client handed out by :meth:`acquire` is the caller's to stop using once evicted
    (its calls then raise ClientClosed).
    """

    def __init__(
        self,
        factory: Callable[[int], Client],
        max_size: int = 128,
        idle_timeout_ms: int = 300_000,
        *,
        now_ms: Callable[[], float] = lambda: time.monotonic() * 1000,
    ) -> None:
        if not callable(factory):
            raise TypeError("factory must be a callable taking a tenant id and returning a Client")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise InvalidArgument(f"max_size must be > 0, got {max_size!r}")
        if isinstance(idle_timeout_ms, bool) or not isinstance(idle_timeout_ms, int) or idle_timeout_ms < 0:
            raise InvalidArgument(f"idle_timeout_ms must be >= 0, got {idle_timeout_ms!r}")
        self._factory = factory
        self._max_size = max_size
        self._idle_timeout_ms = idle_timeout_ms
        self._now_ms = now_ms
        self._cond = threading.Condition()
        self._cache: "OrderedDict[int, Tuple[Client, float]]" = OrderedDict()
        self._connecting: Set[int] = set()
        self._borrows: Dict[int, int] = {}  # id(client) -> with_client calls running on it
        self._close_after: Dict[int, Client] = {}  # evicted while borrowed
        self._hits = self._misses = self._evictions = self._idle_evictions = 0

    def acquire(self, tenant_id: int) -> Client:
        """The tenant's Client, made by the factory when it is not cached."""
        client, _ = self._get(tenant_id)
        return client

    def _get(self, tenant_id: int) -> Tuple[Client, bool]:
        hit: Optional[Client] = None
        with self._cond:
            doomed = self._expire_idle()
            while True:
                entry = self._cache.get(tenant_id)
                if entry is not None:
                    self._cache[tenant_id] = (entry[0], self._now_ms())
                    self._cache.move_to_end(tenant_id)
                    self._hits += 1
                    hit = entry[0]
                    break
                if tenant_id not in self._connecting:
                    self._misses += 1
                    self._connecting.add(tenant_id)
                    break
                self._cond.wait()  # another thread is making this tenant's client
        self._close(doomed)
        if hit is not None:
            return hit, True
        try:
            client = self._factory(tenant_id)
            if not isinstance(client, Client):
                raise TypeError(f"factory returned {type(client).__name__}, not a Client")
        except BaseException:
            with self._cond:
                self._connecting.discard(tenant_id)
                self._cond.notify_all()
            raise
        with self._cond:
            self._connecting.discard(tenant_id)
            while len(self._cache) >= self._max_size:
                _, (old, _) = self._cache.popitem(last=False)
                self._evictions += 1
                doomed.append(old)
            self._cache[tenant_id] = (client, self._now_ms())
            self._cond.notify_all()
            doomed = self._defer_borrowed(doomed)
        self._close(doomed)
        return client, False

    def with_client(self, tenant_id: int, fn: Callable[[Client], T]) -> T:
        """fn(the tenant's Client); an eviction meanwhile waits for fn to return."""
        client, _ = self._get(tenant_id)
        key = id(client)
        with self._cond:
            self._borrows[key] = self._borrows.get(key, 0) + 1
        try:
            return fn(client)
        finally:
            late: Optional[Client] = None
            with self._cond:
                n = self._borrows[key] - 1
                if n:
                    self._borrows[key] = n
                else:
                    del self._borrows[key]
                    late = self._close_after.pop(key, None)
            if late is not None:
                late.disconnect()

    def close(self) -> None:
        """Disconnect every cached client; later acquires make new ones."""
        with self._cond:
            doomed = [c for c, _ in self._cache.values()]
            self._cache.clear()
            doomed = self._defer_borrowed(doomed)
        self._close(doomed)

    def stats(self) -> TenantPoolStats:
        """A snapshot (no network traffic)."""
        with self._cond:
            return TenantPoolStats(len(self._cache), self._hits, self._misses, self._evictions, self._idle_evictions)

    def _expire_idle(self) -> "list[Client]":
        if self._idle_timeout_ms == 0:
            return []
        cutoff = self._now_ms() - self._idle_timeout_ms
        stale = [tid for tid, (_, last) in self._cache.items() if last < cutoff]
        out = [self._cache.pop(tid)[0] for tid in stale]
        self._idle_evictions += len(out)
        return self._defer_borrowed(out)

    def _defer_borrowed(self, clients: "list[Client]") -> "list[Client]":
        now = []
        for c in clients:
            if id(c) in self._borrows:
                self._close_after[id(c)] = c
            else:
                now.append(c)
        return now

    @staticmethod
    def _close(clients: "list[Client]") -> None:
        for c in clients:
            try:
                c.disconnect()
            except Exception:  # best effort: the client is gone from the pool either way
                pass


TenantPool.__module__ = "kimberlite.tenant_pool"
TenantPoolStats.__module__ = "kimberlite.tenant_pool"
