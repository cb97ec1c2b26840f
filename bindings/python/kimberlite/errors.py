"""Exceptions of the kimberlite package.

Every error the package raises on purpose is a :class:`KimberliteError`. Each class is registered
under the library status name it stands for (``KMB_ERR_NOT_LEADER`` ...) through
``__init_subclass__(code=...)``; :func:`lookup` finds the class for a name. Errors about the link
also subclass Python's own :class:`ConnectionError`, deadlines :class:`TimeoutError`, and bad
arguments :class:`ValueError`, so generic ``except`` clauses keep working.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional, Type

__all__ = [
    "KimberliteError", "lookup",
    "InternalError", "InvalidArgument", "NullArgument", "InvalidUtf8", "ClientClosed",
    "InvalidHandle", "DeadlineExceeded", "ConnectionFailed", "ClusterUnavailable",
    "OutcomeUnknown", "ForkedProcess", "ProtocolError", "NoMemory", "Busy",
    "ServerError", "ServerUnknown", "ServerInternal", "InvalidRequest", "AuthenticationFailed",
    "TenantNotFound", "StreamNotFound", "TableNotFound", "QueryParseError",
    "QueryExecutionError", "PositionAhead", "StreamAlreadyExists", "InvalidOffset",
    "StorageError", "ProjectionLag", "RateLimited", "NotLeader", "OffsetMismatch",
    "SubscriptionNotFound", "ServerSubscriptionClosed", "SubscriptionBackpressure", "SubscriptionClosed",
    "ApiKeyNotFound", "TenantAlreadyExists", "ConsentNotFound", "ConsentExpired",
    "ErasureNotFound", "ErasureAlreadyComplete", "ErasureExempt", "BreachNotFound",
    "ExportNotFound", "UniqueConstraintViolation", "ServerOther",
]

_registry: Dict[str, Type["KimberliteError"]] = {}


class KimberliteError(Exception):
    """The root of every kimberlite error; picklable.

    Attributes:
        code: the library status name, e.g. ``"KMB_ERR_NOT_LEADER"``.
        message: what went wrong, with the server's own text when the server answered.
        server_code: the server's wire error code (0..29 today), or None when the failure did
            not come from a server answer.
        request_id: the id of the last request sent for the failing call, or None.
        retryable: True when the same call may be made again with a chance of success.
    """

    __module__ = "kimberlite"
    code: ClassVar[str] = "KMB_ERR_UNKNOWN"
    #: The default of :attr:`retryable` for errors raised by the package itself.
    default_retryable: ClassVar[bool] = False

    def __init_subclass__(cls, code: Optional[str] = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__module__ = "kimberlite"
        if code is not None:
            if code in _registry:
                raise TypeError(f"status {code} is already registered to {_registry[code].__name__}")
            cls.code = code
            _registry[code] = cls

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[str] = None,
        server_code: Optional[int] = None,
        request_id: Optional[int] = None,
        retryable: Optional[bool] = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        # An instance attribute shadows the class default only when it differs (unknown codes).
        if code is not None and code != type(self).code:
            self.code = code  # type: ignore[misc]
        self.server_code: Optional[int] = server_code
        self.request_id: Optional[int] = request_id
        self.retryable: bool = type(self).default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = ""
        if self.server_code is not None:
            extra += f", server_code={self.server_code}"
        if self.request_id is not None:
            extra += f", request_id={self.request_id}"
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}{extra})"

    def __reduce__(self) -> Any:
        return (type(self), (self.message,), dict(self.__dict__))


def lookup(code: str) -> Type[KimberliteError]:
    """The exception class registered for a library status name.

    An unknown name of a server error (``KMB_ERR_*`` of the 100..199 range is not knowable from
    the name alone) falls back to :class:`KimberliteError`; :func:`_class_for_status` also uses
    the numeric range.
    """
    return _registry.get(code, KimberliteError)


def _class_for_status(name: str, status: int) -> Type[KimberliteError]:
    cls = _registry.get(name)
    if cls is not None:
        return cls
    return ServerError if 100 <= status <= 199 else KimberliteError


# --- failures of the client itself (statuses 1..99) ----------------------------------------


class InternalError(KimberliteError, code="KMB_ERR_INTERNAL"):
    """A bug inside the library (it was caught and reported instead of crashing)."""


class InvalidArgument(KimberliteError, ValueError, code="KMB_ERR_INVALID_ARGUMENT"):
    """An argument or option is out of range; nothing was sent. Also a ValueError."""


class NullArgument(InvalidArgument, code="KMB_ERR_NULL_ARGUMENT"):
    """A required argument was missing at the C boundary."""


class InvalidUtf8(InvalidArgument, code="KMB_ERR_INVALID_UTF8"):
    """A string argument cannot be sent as UTF-8 (lone surrogates, NUL characters)."""


class ClientClosed(KimberliteError, code="KMB_ERR_CLOSED"):
    """The client was disconnected (before or during the call)."""


class InvalidHandle(ClientClosed, code="KMB_ERR_INVALID_HANDLE"):
    """The library no longer knows the client: it was closed, possibly by another thread."""


class DeadlineExceeded(KimberliteError, TimeoutError, code="KMB_ERR_TIMEOUT"):
    """The call's deadline (request timeout, or connect timeout) passed. Also a TimeoutError."""

    default_retryable = True


class ConnectionFailed(KimberliteError, ConnectionError, code="KMB_ERR_CONNECTION"):
    """Dialing, the handshake, or a read or write on a socket failed. Also a ConnectionError."""

    default_retryable = True


class ClusterUnavailable(ConnectionFailed, code="KMB_ERR_CLUSTER_UNAVAILABLE"):
    """No node could serve the call: no leader, or every node down."""


class OutcomeUnknown(KimberliteError, code="KMB_ERR_OUTCOME_UNKNOWN"):
    """An append was sent but its result could not be learned.

    The events may or may not be in the stream: read the stream before appending them again.
    """


class ForkedProcess(KimberliteError, code="KMB_ERR_FORKED"):
    """The client (or the library) was used in a child process after fork().

    The library's runtime does not survive fork(): connect in the child instead (for a pre-fork
    server such as gunicorn, connect in each worker, not in the master).
    """


class ProtocolError(KimberliteError, code="KMB_ERR_PROTOCOL"):
    """The server sent something that is not protocol v5."""


class NoMemory(KimberliteError, code="KMB_ERR_NO_MEMORY"):
    """An allocation for a result failed."""


class SubscriptionClosed(KimberliteError, code="KMB_ERR_SUBSCRIPTION_CLOSED"):
    """A subscription ended for good: the server closed it (the stream was deleted...), or it was
    unsubscribed. ``reason`` is the protocol's name of the cause (``"StreamDeleted"``...) and
    ``subscription_id`` the server's id, when known."""

    subscription_id: Optional[int] = None
    reason: Optional[str] = None


class Busy(KimberliteError, code="KMB_ERR_BUSY"):
    """Too many asynchronous calls pending on this client; retry later."""

    default_retryable = True


# --- the server answered with an Error (statuses 100..199) ---------------------------------


class ServerError(KimberliteError):
    """The server answered with an Error; :attr:`server_code` is its wire code."""


class ServerUnknown(ServerError, code="KMB_ERR_SERVER_UNKNOWN"):
    """Wire error 0, Unknown."""


class ServerInternal(ServerError, code="KMB_ERR_SERVER_INTERNAL"):
    """Wire error 1, InternalError."""


class InvalidRequest(ServerError, code="KMB_ERR_INVALID_REQUEST"):
    """Wire error 2, InvalidRequest."""


class AuthenticationFailed(ServerError, code="KMB_ERR_AUTHENTICATION_FAILED"):
    """Wire error 3: the server refused the auth token."""


class TenantNotFound(ServerError, code="KMB_ERR_TENANT_NOT_FOUND"):
    """Wire error 4, TenantNotFound."""


class StreamNotFound(ServerError, code="KMB_ERR_STREAM_NOT_FOUND"):
    """Wire error 5: no stream has that id."""


class TableNotFound(ServerError, code="KMB_ERR_TABLE_NOT_FOUND"):
    """Wire error 6, TableNotFound."""


class QueryParseError(ServerError, code="KMB_ERR_QUERY_PARSE"):
    """Wire error 7, QueryParseError."""


class QueryExecutionError(ServerError, code="KMB_ERR_QUERY_EXECUTION"):
    """Wire error 8, QueryExecutionError."""


class PositionAhead(ServerError, code="KMB_ERR_POSITION_AHEAD"):
    """Wire error 9, PositionAhead."""


class StreamAlreadyExists(ServerError, code="KMB_ERR_STREAM_ALREADY_EXISTS"):
    """Wire error 10, StreamAlreadyExists."""


class InvalidOffset(ServerError, code="KMB_ERR_INVALID_OFFSET"):
    """Wire error 11, InvalidOffset."""


class StorageError(ServerError, code="KMB_ERR_STORAGE"):
    """Wire error 12, StorageError."""


class ProjectionLag(ServerError, code="KMB_ERR_PROJECTION_LAG"):
    """Wire error 13, ProjectionLag (retryable)."""

    default_retryable = True


class RateLimited(ServerError, code="KMB_ERR_RATE_LIMITED"):
    """Wire error 14, RateLimited (retryable)."""

    default_retryable = True


class NotLeader(ServerError, code="KMB_ERR_NOT_LEADER"):
    """Wire error 15: the node is not the leader (the client follows such hints itself)."""

    default_retryable = True


class OffsetMismatch(ServerError, code="KMB_ERR_OFFSET_MISMATCH"):
    """Wire error 16: the stream's length is not the expected offset given to append()."""


class SubscriptionNotFound(ServerError, code="KMB_ERR_SUBSCRIPTION_NOT_FOUND"):
    """Wire error 17, SubscriptionNotFound."""


class ServerSubscriptionClosed(ServerError, code="KMB_ERR_SERVER_SUBSCRIPTION_CLOSED"):
    """Wire error 18, SubscriptionClosed."""


class SubscriptionBackpressure(ServerError, code="KMB_ERR_SUBSCRIPTION_BACKPRESSURE"):
    """Wire error 19, SubscriptionBackpressure."""


class ApiKeyNotFound(ServerError, code="KMB_ERR_API_KEY_NOT_FOUND"):
    """Wire error 20, ApiKeyNotFound."""


class TenantAlreadyExists(ServerError, code="KMB_ERR_TENANT_ALREADY_EXISTS"):
    """Wire error 21, TenantAlreadyExists."""


class ConsentNotFound(ServerError, code="KMB_ERR_CONSENT_NOT_FOUND"):
    """Wire error 22, ConsentNotFound."""


class ConsentExpired(ServerError, code="KMB_ERR_CONSENT_EXPIRED"):
    """Wire error 23, ConsentExpired."""


class ErasureNotFound(ServerError, code="KMB_ERR_ERASURE_NOT_FOUND"):
    """Wire error 24, ErasureNotFound."""


class ErasureAlreadyComplete(ServerError, code="KMB_ERR_ERASURE_ALREADY_COMPLETE"):
    """Wire error 25, ErasureAlreadyComplete."""


class ErasureExempt(ServerError, code="KMB_ERR_ERASURE_EXEMPT"):
    """Wire error 26, ErasureExempt."""


class BreachNotFound(ServerError, code="KMB_ERR_BREACH_NOT_FOUND"):
    """Wire error 27, BreachNotFound."""


class ExportNotFound(ServerError, code="KMB_ERR_EXPORT_NOT_FOUND"):
    """Wire error 28, ExportNotFound."""


class UniqueConstraintViolation(ServerError, code="KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION"):
    """Wire error 29, UniqueConstraintViolation."""


class ServerOther(ServerError, code="KMB_ERR_SERVER_OTHER"):
    """A server error code this library version does not know; see :attr:`server_code`."""
