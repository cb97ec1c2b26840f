"""Pool (a cap on borrowers of one shared client) and with_retry against a real server."""

from __future__ import annotations

import threading
from typing import List

import pytest

from kimberlite import (
    ClientClosed, DataClass, DeadlineExceeded, KimberliteError, NotLeader, OffsetMismatch, OutcomeUnknown, Pool,
    PoolStats, StreamNotFound,
)
from kimberlite.retry import DEFAULT_RETRY, RetryPolicy, with_retry
from procs import Server, dead_address, wait_for


def test_pool_borrow_release_and_stats(server: Server, stream_name: str) -> None:
    with Pool(server.addr, 1, max_size=2, acquire_timeout_ms=50) as pool:
        assert pool.stats() == PoolStats(2, 0, 2, 0, False)  # connects at the first acquire
        a = pool.acquire()
        sid = a.create_stream(stream_name, DataClass.NON_PHI)
        assert a.append(sid, [b"a"]) == 0 and a.tenant_id == 1 and a.last_request_id is None
        with pool.acquire() as b:
            assert b.read(sid)[0].data == b"a"
            assert pool.stats() == PoolStats(2, 1, 0, 2, False)
            with pytest.raises(DeadlineExceeded):  # both slots out
                pool.acquire()
        a.release()
        a.release()  # idempotent
        a.discard()
        with pytest.raises(ClientClosed, match="PooledClient has been released"):
            a.read(sid)
        assert pool.with_client(lambda c: c.append(sid, [b"b"], 1)) == 1
        with pytest.raises(OffsetMismatch):
            pool.with_client(lambda c: c.append(sid, [b"c"], 1))
        assert pool.stats().in_use == 0  # with_client released after the failure too
    assert pool.stats() == PoolStats(2, 0, 2, 0, True)
    pool.shutdown()  # idempotent
    with pytest.raises(KimberliteError, match="Pool is closed"):
        pool.acquire()


def test_pool_caps_concurrent_borrowers(server: Server, stream_name: str) -> None:
    pool = Pool([server.addr], 1, max_size=3, acquire_timeout_ms=0)
    sid = pool.with_client(lambda c: c.create_stream(stream_name, DataClass.NON_PHI))
    lock = threading.Lock()
    inside: List[int] = [0, 0]  # now, most seen
    gate = threading.Event()

    def worker(i: int) -> None:
        with pool.acquire() as c:
            with lock:
                inside[0] += 1
                inside[1] = max(inside[1], inside[0])
            gate.wait(30)
            c.append(sid, [b"w%d" % i])
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    wait_for(lambda: pool.stats().in_use == 3, 10, "three borrowers")
    gate.set()
    for t in threads:
        t.join(30)
    assert inside[1] == 3
    assert sorted(e.data for e in pool.with_client(lambda c: c.read(sid))) == sorted(b"w%d" % i for i in range(8))
    pool.shutdown()


def test_pool_shutdown_wakes_waiters(server: Server) -> None:
    pool = Pool(server.addr, 1, max_size=1, acquire_timeout_ms=0)
    held = pool.acquire()
    errors: List[BaseException] = []

    def waiter() -> None:
        try:
            pool.acquire()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=waiter)
    t.start()
    wait_for(lambda: t.is_alive() and not errors, 5, "a waiting acquire")
    pool.shutdown()
    t.join(10)
    assert len(errors) == 1 and isinstance(errors[0], ClientClosed)
    with pytest.raises(ClientClosed):
        held.read(1)  # the shared client is disconnected


def test_pool_connect_failure_gives_the_slot_back() -> None:
    pool = Pool(dead_address(), 1, max_size=1, connect_timeout=1, request_timeout=1)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            pool.acquire()
    assert pool.stats().in_use == 0


def test_with_retry_retries_what_is_retryable() -> None:
    sleeps: List[float] = []
    calls = [0]

    def flaky() -> str:
        calls[0] += 1
        if calls[0] < 3:
            raise NotLeader("not the leader")
        return "ok"

    assert with_retry(flaky, sleep=sleeps.append) == "ok"
    assert calls[0] == 3 and sleeps == [0.05, 0.1]

    calls[0] = -10
    with pytest.raises(NotLeader):
        with_retry(flaky, RetryPolicy(3, 100, 150), sleep=sleeps.append)
    assert calls[0] == -7 and sleeps[2:] == [0.1, 0.15]  # capped

    for exc in (OutcomeUnknown("sent, result lost", retryable=True), StreamNotFound("nope"), ValueError("bad")):
        n = [0]

        def once(e: BaseException = exc) -> None:
            n[0] += 1
            raise e

        with pytest.raises(type(exc)):
            with_retry(once, DEFAULT_RETRY, sleep=sleeps.append)
        assert n[0] == 1, exc
    with pytest.raises(ValueError):
        RetryPolicy(0, 1, 1)


def test_with_retry_against_a_server(server: Server, stream_name: str) -> None:
    with Pool(server.addr, 1) as pool:
        sid = pool.with_client(lambda c: c.create_stream(stream_name, DataClass.NON_PHI))
        assert with_retry(lambda: pool.with_client(lambda c: c.append(sid, [b"x"]))) == 0
        with pytest.raises(OffsetMismatch):  # not retryable: raised at the first attempt
            with_retry(lambda: pool.with_client(lambda c: c.append(sid, [b"y"], 0)))
        assert pool.with_client(lambda c: c.stream_length(sid)) == 1


def test_tenant_pool(server: Server) -> None:
    from kimberlite import Client
    from kimberlite.tenant_pool import TenantPool, TenantPoolStats

    made: List[int] = []
    clock = [0.0]

    def factory(tid: int) -> Client:
        made.append(tid)
        return Client.connect([server.addr], tid)

    pool = TenantPool(factory, max_size=2, idle_timeout_ms=1000, now_ms=lambda: clock[0])
    a = pool.acquire(1)
    assert pool.acquire(1) is a and a.tenant_id == 1
    b = pool.acquire(2)
    pool.acquire(1)  # 1 is now the most recently used
    inside: List[bool] = []

    def use(c: Client) -> bool:
        pool.acquire(3)  # evicts tenant 2, the least recently used
        inside.append(c.closed)
        return c.closed

    assert pool.with_client(1, use) is False
    assert b.closed and not a.closed and made == [1, 2, 3]
    assert pool.stats() == TenantPoolStats(size=2, hits=3, misses=3, evictions=1, idle_evictions=0)
    clock[0] = 5000
    c4 = pool.acquire(4)  # the others idled out
    assert a.closed and pool.stats().idle_evictions == 2 and pool.stats().size == 1
    pool.close()
    assert c4.closed and pool.stats().size == 0
    with pytest.raises(ValueError):
        TenantPool(factory, max_size=0)


def test_tenant_pool_defers_closing_a_borrowed_client(server: Server) -> None:
    from kimberlite import Client
    from kimberlite.tenant_pool import TenantPool

    pool = TenantPool(lambda tid: Client.connect([server.addr], tid), max_size=1)

    def use(c: Client) -> bool:
        pool.acquire(2)  # evicts tenant 1, which this call is using
        c.ping()  # still open
        return True

    first = pool.acquire(1)
    assert pool.with_client(1, use)
    assert first.closed  # closed once the call returned
    pool.close()
