"""Exceptions of the kimberlite package.

Every error the package raises on purpose is a :class:`KimberliteError`. Each class is registered
under the library status name it stands for (``KMB_ERR_NOT_LEADER`` ...) through
``__init_subclass__(code=...)``; :func:`lookup` finds the class for a name. Errors about the link
also subclass Python's own :class:`ConnectionError`, deadlines :class:`TimeoutError`, and bad
arguments :class:`ValueError`, so generic ``except`` clauses keep working.

The names of the official SDK (``ConnectionError``, ``StreamNotFoundError``,
``OffsetMismatchError``...) are the same classes under a second name, or (where the official SDK
has a class ours lacks) a class placed in the same hierarchy, so code written for it catches the
same failures. Their predicates (``is_retryable()``, ``is_not_leader()``...) are methods of every
error, computed from the class and from :attr:`KimberliteError.retryable`.
"""

from __future__ import annotations

import builtins

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
    # The official SDK's names (see the end of this module).
    "ConnectionError", "TimeoutError", "StreamNotFoundError", "PermissionDeniedError",
    "AuthenticationError", "OffsetMismatchError", "ClusterUnavailableError", "InvalidDataClassError",
    "OffsetOutOfRangeError", "UniqueConstraintViolationError", "NotLeaderError", "RateLimitedError",
    "SubscriptionClosedError",
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
    #: The official SDK's numeric code of this kind of failure (3 connection, 4 stream not found,
    #: 12 timeout...; 13 for any other), for code written against it.
    code_number: Optional[int] = 13
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
        code: "str | int | None" = None,
        request_id: Optional[int] = None,
        *,
        server_code: Optional[int] = None,
        retryable: Optional[bool] = None,
    ) -> None:
        """Make an error. ``code`` is a status name (``"KMB_ERR_NOT_LEADER"``); an int is taken
        as the official SDK's numeric code (``KimberliteError("boom", 3)``), kept in
        :attr:`code_number`, while :attr:`code` stays the class's status name."""
        super().__init__(message)
        self.message: str = message
        if isinstance(code, int) and not isinstance(code, bool):
            self.code_number = code
        elif isinstance(code, str) and code != type(self).code:
            # An instance attribute shadows the class default only when it differs (unknown codes).
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

    # --- the official SDK's predicates, from our classification ------------------------------

    def is_retryable(self) -> bool:
        """True when the same call may be made again with a chance of success (:attr:`retryable`).

        Never true for :class:`OutcomeUnknown`: such an append may already be in the stream.
        """
        return self.retryable and not isinstance(self, OutcomeUnknown)

    def is_not_found(self) -> bool:
        """True for a missing stream, tenant, table or other named object."""
        return isinstance(self, _NOT_FOUND)

    def is_auth_failed(self) -> bool:
        """True when the server refused the credentials."""
        return isinstance(self, AuthenticationFailed)

    def is_not_leader(self) -> bool:
        """True when the node was not the leader (the client follows such hints itself)."""
        return isinstance(self, NotLeader)

    def is_rate_limited(self) -> bool:
        """True when the server asked the client to slow down."""
        return isinstance(self, RateLimited)

    def is_offset_mismatch(self) -> bool:
        """True when append()'s expected_offset was not the stream's length."""
        return isinstance(self, OffsetMismatch)

    def is_permission_denied(self) -> bool:
        """True for :class:`PermissionDeniedError`."""
        return isinstance(self, PermissionDeniedError)

    def is_unique_constraint_violation(self) -> bool:
        """True when the server refused a duplicate key."""
        return isinstance(self, UniqueConstraintViolation)


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


class InvalidDataClassError(InvalidArgument):
    """create_stream() was given a data class that is not a :class:`~kimberlite.DataClass`
    value; nothing was sent. Also a ValueError."""

    code_number = 6


class NullArgument(InvalidArgument, code="KMB_ERR_NULL_ARGUMENT"):
    """A required argument was missing at the C boundary."""


class InvalidUtf8(InvalidArgument, code="KMB_ERR_INVALID_UTF8"):
    """A string argument cannot be sent as UTF-8 (lone surrogates, NUL characters)."""


class ClientClosed(KimberliteError, code="KMB_ERR_CLOSED"):
    """The client was disconnected (before or during the call)."""


class InvalidHandle(ClientClosed, code="KMB_ERR_INVALID_HANDLE"):
    """The library no longer knows the client: it was closed, possibly by another thread."""


class DeadlineExceeded(KimberliteError, builtins.TimeoutError, code="KMB_ERR_TIMEOUT"):
    """The call's deadline (request timeout, or connect timeout) passed. Also a TimeoutError."""

    code_number = 12

    default_retryable = True


class ConnectionFailed(KimberliteError, builtins.ConnectionError, code="KMB_ERR_CONNECTION"):
    """Dialing, the handshake, or a read or write on a socket failed. Also a ConnectionError."""

    code_number = 3

    default_retryable = True


class ClusterUnavailable(ConnectionFailed, code="KMB_ERR_CLUSTER_UNAVAILABLE"):
    """No node could serve the call: no leader, or every node down."""

    code_number = 14


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

    code_number = 11


class TenantNotFound(ServerError, code="KMB_ERR_TENANT_NOT_FOUND"):
    """Wire error 4, TenantNotFound."""


class StreamNotFound(ServerError, code="KMB_ERR_STREAM_NOT_FOUND"):
    """Wire error 5: no stream has that id."""

    code_number = 4


class TableNotFound(ServerError, code="KMB_ERR_TABLE_NOT_FOUND"):
    """Wire error 6, TableNotFound."""


class QueryParseError(ServerError, code="KMB_ERR_QUERY_PARSE"):
    """Wire error 7, QueryParseError."""


class QueryExecutionError(ServerError, code="KMB_ERR_QUERY_EXECUTION"):
    """Wire error 8, QueryExecutionError."""


class OffsetOutOfRangeError(ServerError):
    """An offset outside the stream: the base of :class:`PositionAhead` and :class:`InvalidOffset`
    (the official SDK's name)."""

    code_number = 7


class PermissionDeniedError(ServerError):
    """The official SDK's permission-denied class. The v5 protocol has no such error code, so this
    server never sends it; it exists so that ``except PermissionDeniedError`` keeps compiling."""

    code_number = 5


class PositionAhead(OffsetOutOfRangeError, code="KMB_ERR_POSITION_AHEAD"):
    """Wire error 9, PositionAhead."""


class StreamAlreadyExists(ServerError, code="KMB_ERR_STREAM_ALREADY_EXISTS"):
    """Wire error 10, StreamAlreadyExists."""


class InvalidOffset(OffsetOutOfRangeError, code="KMB_ERR_INVALID_OFFSET"):
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

    code_number = 16


class ServerOther(ServerError, code="KMB_ERR_SERVER_OTHER"):
    """A server error code this library version does not know; see :attr:`server_code`."""


# --- the official SDK's names --------------------------------------------------------------
# The same classes under their names; the builtin-named ones keep the builtins as bases
# (ConnectionFailed is a builtins.ConnectionError, DeadlineExceeded a builtins.TimeoutError), so
# ``except ConnectionError`` means the same with or without ``from kimberlite import *``.

ConnectionError = ConnectionFailed  # noqa: A001 (the official SDK's name)
TimeoutError = DeadlineExceeded  # noqa: A001
StreamNotFoundError = StreamNotFound
AuthenticationError = AuthenticationFailed
OffsetMismatchError = OffsetMismatch
ClusterUnavailableError = ClusterUnavailable
UniqueConstraintViolationError = UniqueConstraintViolation
NotLeaderError = NotLeader
RateLimitedError = RateLimited
SubscriptionClosedError = SubscriptionClosed  # with .subscription_id and .reason, as theirs

_NOT_FOUND = (
    StreamNotFound, TenantNotFound, TableNotFound, SubscriptionNotFound, ApiKeyNotFound,
    ConsentNotFound, ErasureNotFound, BreachNotFound, ExportNotFound,
)
