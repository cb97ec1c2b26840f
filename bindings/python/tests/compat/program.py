"""A program written for the official SDK's interface, unchanged but for running here.

Their imports, their exception classes and predicates, Pool and with_retry, positional expected
offsets, and read results indexed as lists. test_compat_program.py runs it against a 3-node
cluster and kills the leader half way (``midway``); mypy --strict checks it against our types.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

from kimberlite import (
    Client, ConnectionError, DataClass, KimberliteError, Offset, OffsetMismatchError, Placement, Pool,
    PooledClient, PoolStats, StreamId, StreamNotFoundError, TimeoutError,
)
from kimberlite.retry import DEFAULT_RETRY, RetryPolicy, with_retry


def first_steps(addresses: List[str], tenant_id: int, name: str) -> StreamId:
    """Client basics: connect keywords, positional expected offsets, indexing read()."""
    with Client.connect(addresses, tenant_id, None, "compat-program", "1.0.0", True) as client:
        assert client.tenant_id == tenant_id
        stream_id = client.create_stream(name, DataClass.PHI, Placement.GLOBAL)
        first = client.append(stream_id, [b"order-0", b"order-1"], Offset(0))
        assert first == Offset(0)
        try:
            client.append(stream_id, [b"order-stale"], Offset(0))
            raise AssertionError("a stale expected offset was accepted")
        except OffsetMismatchError as exc:
            assert exc.is_offset_mismatch() and not exc.is_retryable()
        events = client.read(stream_id, from_offset=Offset(0), max_bytes=1024 * 1024)
        assert len(events) == 2 and events[0].data == b"order-0" and events[1].offset == 1
        assert [e.data for e in events[-1:]] == [b"order-1"]
        try:
            client.read(StreamId(987654321))  # another tenant's stream id
            raise AssertionError("another tenant's stream was readable")
        except StreamNotFoundError as exc:
            assert exc.is_not_found()
        try:
            client.append(stream_id, [])
            raise AssertionError("an empty append was accepted")
        except ValueError as exc:
            assert "Cannot append empty event list" in str(exc)
        return stream_id


def appends_through_failover(
    addresses: List[str], tenant_id: int, stream_id: StreamId, count: int, midway: Callable[[], None],
) -> Tuple[List[bytes], List[bytes]]:
    """Appends with explicit expected offsets through a Pool and with_retry while `midway`
    runs after half of them. Returns (acknowledged payloads, payloads whose outcome is unknown)."""
    acked: List[bytes] = []
    unknown: List[bytes] = []
    policy = RetryPolicy(max_attempts=6, base_delay_ms=DEFAULT_RETRY.base_delay_ms, cap_delay_ms=1000)
    with Pool(addresses, tenant_id, max_size=4, acquire_timeout_ms=10_000) as pool:
        expected = pool.with_client(lambda c: c.stream_length(stream_id))
        for i in range(count):
            if i == count // 2:
                midway()
            payload = b"failover-%d" % i
            pooled: PooledClient = pool.acquire()
            try:
                offset = with_retry(lambda: pooled.append(stream_id, [payload], Offset(expected)), policy)
                acked.append(payload)
                expected = offset + 1
            except OffsetMismatchError:
                # Someone (or an earlier unknown outcome of ours) took the offset: catch up.
                unknown.append(payload)
                expected = pooled.stream_length(stream_id)
            except (ConnectionError, TimeoutError):
                unknown.append(payload)
                expected = with_retry(lambda: pooled.stream_length(stream_id), policy)
            except KimberliteError:
                # OutcomeUnknown (never retried) or the last attempt's error: find out by reading.
                unknown.append(payload)
                expected = with_retry(lambda: pooled.stream_length(stream_id), policy)
            finally:
                pooled.release()
        stats: PoolStats = pool.stats()
        assert stats.in_use == 0 and stats.max_size == 4 and not stats.shutdown
    assert pool.stats().shutdown
    return acked, unknown


def read_everything(addresses: List[str], tenant_id: int, stream_id: StreamId) -> List[bytes]:
    """Pages through the stream with read(), by next_offset, as their loops do."""
    out: List[bytes] = []
    with Client.connect(addresses, tenant_id) as client:
        offset = Offset(0)
        while True:
            page = client.read(stream_id, offset, 64)
            out.extend(event.data for event in page)
            if not page.has_more:
                return out
            offset = Offset(page.next_offset)
