"""Every name of the official SDK's stream/event/pool/retry/error surface exists here, with its
signature and values (written from its 0.8.0 public surface; SQL, admin and subscriptions aside)."""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import inspect
import time
from typing import Any, List

import pytest

import kimberlite
from kimberlite import aio, errors, pool, retry, types

ROOT_NAMES = [
    "Client", "Pool", "PooledClient", "PoolStats", "DataClass", "Placement", "StreamId", "Offset", "TenantId",
    "KimberliteError", "ConnectionError", "StreamNotFoundError", "PermissionDeniedError", "InvalidDataClassError",
    "OffsetOutOfRangeError", "AuthenticationError", "TimeoutError", "InternalError", "ClusterUnavailableError",
    "UniqueConstraintViolationError", "OffsetMismatchError",
]


def params(fn: Any) -> List[str]:
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]


def default(fn: Any, name: str) -> Any:
    return inspect.signature(fn).parameters[name].default


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_root_exports(name: str) -> None:
    assert hasattr(kimberlite, name), name
    assert name in kimberlite.__all__


def test_submodules() -> None:
    assert kimberlite.pool.Pool is kimberlite.Pool and kimberlite.retry.with_retry is kimberlite.with_retry
    assert errors.StreamNotFoundError is kimberlite.StreamNotFoundError and types.DataClass is kimberlite.DataClass
    assert aio.AsyncClient and pool.PoolStats and retry.RetryPolicy


def test_client_signatures() -> None:
    C = kimberlite.Client
    assert params(C.connect)[:6] == ["addresses", "tenant_id", "auth_token", "client_name", "client_version", "auto_reconnect"]
    assert (default(C.connect, "auth_token"), default(C.connect, "client_name"), default(C.connect, "client_version"),
            default(C.connect, "auto_reconnect")) == (None, "kimberlite-python", "0.1.0", True)
    assert params(C.create_stream) == ["name", "data_class", "placement", "custom_region"]
    assert default(C.create_stream, "placement") is kimberlite.Placement.GLOBAL
    assert params(C.append) == ["stream_id", "events", "expected_offset"]
    assert default(C.append, "expected_offset") is None  # theirs: Offset(0); see the README
    assert params(C.read) == ["stream_id", "from_offset", "max_bytes"]
    assert (default(C.read, "from_offset"), default(C.read, "max_bytes")) == (0, 1024 * 1024)
    for member in ("disconnect", "__enter__", "__exit__", "__del__", "reconnect"):
        assert callable(getattr(C, member)), member
    for prop in ("tenant_id", "last_request_id", "reconnect_count"):
        assert isinstance(getattr(C, prop), property), prop


def test_types() -> None:
    assert {m.name: m.value for m in kimberlite.DataClass} == {
        "PHI": 0, "NON_PHI": 1, "DEIDENTIFIED": 2, "PII": 3, "SENSITIVE": 4, "PCI": 5, "FINANCIAL": 6,
        "CONFIDENTIAL": 7, "PUBLIC": 8}
    assert kimberlite.DataClass(3) is kimberlite.DataClass.PII
    assert kimberlite.DataClass.NON_PHI.wire_value == kimberlite.DataClass.PUBLIC.wire_value == 7
    assert {m.name: m.value for m in kimberlite.Placement} == {"GLOBAL": 0, "US_EAST_1": 1, "AP_SOUTHEAST_2": 2, "CUSTOM": 3}
    for nt in (kimberlite.StreamId, kimberlite.Offset, kimberlite.TenantId):
        assert nt(5) == 5 and type(nt(5)) is int
    e = kimberlite.Event(3, b"x")
    assert (e.offset, e.data) == (3, b"x")
    r = kimberlite.ReadResult([e], 4, True)
    assert isinstance(r, list) and r[0] is e and r[-1:] == [e] and r.next_offset == 4 and r.has_more


ERROR_NUMBERS = {
    "ConnectionError": 3, "StreamNotFoundError": 4, "PermissionDeniedError": 5, "InvalidDataClassError": 6,
    "OffsetOutOfRangeError": 7, "AuthenticationError": 11, "TimeoutError": 12, "ClusterUnavailableError": 14,
    "UniqueConstraintViolationError": 16,
}
PREDICATES = ["is_retryable", "is_not_found", "is_auth_failed", "is_not_leader", "is_rate_limited",
              "is_offset_mismatch", "is_permission_denied", "is_unique_constraint_violation"]


def test_error_hierarchy() -> None:
    for name, number in ERROR_NUMBERS.items():
        cls = getattr(kimberlite, name)
        assert issubclass(cls, kimberlite.KimberliteError) and cls.code_number == number, name
    assert issubclass(kimberlite.ConnectionError, builtins.ConnectionError)
    assert issubclass(kimberlite.TimeoutError, builtins.TimeoutError)
    assert issubclass(kimberlite.InvalidDataClassError, ValueError)
    assert issubclass(kimberlite.InvalidOffset, kimberlite.OffsetOutOfRangeError)
    assert issubclass(kimberlite.PositionAhead, kimberlite.OffsetOutOfRangeError)
    # Our classes and codes stay: the official names are the same classes.
    assert kimberlite.ConnectionError is kimberlite.ConnectionFailed
    assert kimberlite.StreamNotFoundError.code == "KMB_ERR_STREAM_NOT_FOUND"
    assert kimberlite.OffsetMismatchError is kimberlite.OffsetMismatch


def test_error_constructor_and_predicates() -> None:
    e = kimberlite.KimberliteError("boom", 12, 77)  # their positional form
    assert (e.message, e.code_number, e.request_id, e.code) == ("boom", 12, 77, "KMB_ERR_UNKNOWN")
    assert params(kimberlite.KimberliteError.__init__)[:3] == ["message", "code", "request_id"]
    for p in PREDICATES:
        assert getattr(e, p)() is False, p
    truths = {
        kimberlite.NotLeader("x"): ("is_not_leader", "is_retryable"),
        kimberlite.OffsetMismatch("x"): ("is_offset_mismatch",),
        kimberlite.StreamNotFound("x"): ("is_not_found",),
        kimberlite.AuthenticationFailed("x"): ("is_auth_failed",),
        kimberlite.RateLimited("x"): ("is_rate_limited", "is_retryable"),
        kimberlite.PermissionDeniedError("x"): ("is_permission_denied",),
        kimberlite.UniqueConstraintViolation("x"): ("is_unique_constraint_violation",),
        kimberlite.ConnectionFailed("x"): ("is_retryable",),
        kimberlite.DeadlineExceeded("x"): ("is_retryable",),
        kimberlite.OutcomeUnknown("x", retryable=True): (),
    }
    for err, true in truths.items():
        assert {p for p in PREDICATES if getattr(err, p)()} == set(true), err


def test_pool_surface() -> None:
    P = kimberlite.Pool
    assert params(P.__init__)[:2] == ["address", "tenant_id"]
    sig = inspect.signature(P.__init__).parameters
    for name, value in (("auth_token", None), ("max_size", 10), ("acquire_timeout_ms", 30_000),
                        ("idle_timeout_ms", 300_000)):
        assert sig[name].kind is inspect.Parameter.KEYWORD_ONLY and sig[name].default == value, name
    for m in ("acquire", "with_client", "stats", "shutdown", "__enter__", "__exit__"):
        assert callable(getattr(P, m)), m
    assert isinstance(P.max_size, property)
    PC = kimberlite.PooledClient
    for m in ("release", "discard", "__enter__", "__exit__", "create_stream", "append", "read"):
        assert callable(getattr(PC, m)), m
    assert isinstance(PC.tenant_id, property) and isinstance(PC.last_request_id, property)
    assert [f.name for f in dataclasses.fields(kimberlite.PoolStats)] == ["max_size", "open", "idle", "in_use", "shutdown"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kimberlite.PoolStats(1, 0, 1, 0, False).open = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_size must be > 0"):
        kimberlite.Pool("127.0.0.1:1", 1, max_size=0)


def test_retry_surface() -> None:
    assert [f.name for f in dataclasses.fields(retry.RetryPolicy)] == ["max_attempts", "base_delay_ms", "cap_delay_ms"]
    assert retry.DEFAULT_RETRY == retry.RetryPolicy(4, 50, 800)
    assert params(retry.with_retry) == ["op", "policy", "sleep"]
    assert default(retry.with_retry, "policy") is retry.DEFAULT_RETRY
    assert default(retry.with_retry, "sleep") is time.sleep


def test_aio_surface() -> None:
    A = aio.AsyncClient
    assert params(A.connect)[:3] == ["addresses", "tenant_id", "auth_token"]
    for m in ("connect", "disconnect", "create_stream", "append", "read", "__aenter__", "__aexit__"):
        assert asyncio.iscoroutinefunction(getattr(A, m)), m
    assert isinstance(A.tenant_id, property) and isinstance(A.last_request_id, property)


def test_tenant_pool_surface() -> None:
    from kimberlite import tenant_pool

    TP = tenant_pool.TenantPool
    assert params(TP.__init__)[:3] == ["factory", "max_size", "idle_timeout_ms"]
    assert (default(TP.__init__, "max_size"), default(TP.__init__, "idle_timeout_ms")) == (128, 300_000)
    for m in ("acquire", "with_client", "close", "stats"):
        assert callable(getattr(TP, m)), m
    assert [f.name for f in dataclasses.fields(tenant_pool.TenantPoolStats)] == [
        "size", "hits", "misses", "evictions", "idle_evictions"]
