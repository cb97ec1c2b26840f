'use strict';

// The official SDK's tag strings (its `code`), by our status name. Ours keeps `code` as the
// status name; the tag is `kind`.
const KIND_OF_CODE = {
  KMB_ERR_CONNECTION: 'Connection',
  KMB_ERR_CLUSTER_UNAVAILABLE: 'ClusterUnavailable',
  KMB_ERR_TIMEOUT: 'Timeout',
  KMB_ERR_INTERNAL: 'Internal',
  KMB_ERR_AUTHENTICATION_FAILED: 'AuthenticationFailed',
  KMB_ERR_STREAM_NOT_FOUND: 'StreamNotFound',
  KMB_ERR_TENANT_NOT_FOUND: 'TenantNotFound',
  KMB_ERR_TABLE_NOT_FOUND: 'TableNotFound',
  KMB_ERR_OFFSET_MISMATCH: 'OffsetMismatch',
  KMB_ERR_NOT_LEADER: 'NotLeader',
  KMB_ERR_RATE_LIMITED: 'RateLimited',
  KMB_ERR_PROJECTION_LAG: 'ProjectionLag',
  KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION: 'UniqueConstraintViolation',
  KMB_ERR_STREAM_ALREADY_EXISTS: 'StreamAlreadyExists',
  KMB_ERR_INVALID_OFFSET: 'InvalidOffset',
  KMB_ERR_POSITION_AHEAD: 'PositionAhead',
  KMB_ERR_INVALID_REQUEST: 'InvalidRequest',
  KMB_ERR_INVALID_ARGUMENT: 'InvalidArgument',
  KMB_ERR_OUTCOME_UNKNOWN: 'OutcomeUnknown',
  KMB_ERR_CLOSED: 'Closed',
  KMB_ERR_BUSY: 'Busy',
};
const CODE_OF_KIND = Object.fromEntries(Object.entries(KIND_OF_CODE).map(([c, k]) => [k, c]));

/**
 * The root error class of the package. Native code rejects with it or with the subclass its
 * status maps to (see `errorFromNative`), so `err instanceof KimberliteError` holds for every
 * library failure. Argument mistakes are TypeError or RangeError instead, and never reach the
 * network.
 */
class KimberliteError extends Error {
  /**
   * @param {string} message the library's explanation (the server's own text included)
   * @param {{code?: string, serverCode?: number, requestId?: bigint, retryable?: boolean} | string} [info]
   *   our details, or (the official SDK's form) a tag string such as `'Timeout'`
   */
  constructor(message, info = {}) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'KimberliteError', enumerable: false, configurable: true, writable: true });
    if (typeof info === 'string') {
      info = { code: CODE_OF_KIND[info] || info, kind: info };
    } else if (typeof info !== 'object' || info === null) {
      info = {};
    }
    /** kmb_status_name() of the failure, e.g. "KMB_ERR_STREAM_NOT_FOUND". */
    this.code = typeof info.code === 'string' ? info.code : 'KMB_ERR_UNKNOWN';
    /** The server's wire error code when the server answered with an error, else undefined. */
    this.serverCode = typeof info.serverCode === 'number' ? info.serverCode : undefined;
    /** The id of the last request sent for the failing call (to match server logs), else undefined. */
    this.requestId = typeof info.requestId === 'bigint' ? info.requestId : undefined;
    /** Whether the same call may be made again with a chance of success. */
    this.retryable = info.retryable === true;
    if (typeof info.kind === 'string') Object.defineProperty(this, 'kind', { value: info.kind, enumerable: false, configurable: true, writable: true });
    if (Error.captureStackTrace) Error.captureStackTrace(this, new.target);
  }

  /**
   * The official SDK's tag string of this failure (`'Connection'`, `'Timeout'`,
   * `'StreamNotFound'`, `'OffsetMismatch'`, `'NotLeader'`...), or `'Unknown'`.
   */
  get kind() {
    return KIND_OF_CODE[this.code] || (this.serverCode !== undefined ? 'Server' : 'Unknown');
  }

  /**
   * Whether the same call may be made again with a chance of success (`retryable`). Never true
   * for `KMB_ERR_OUTCOME_UNKNOWN`: that append may already be in the stream.
   */
  isRetryable() {
    return this.retryable === true && this.code !== 'KMB_ERR_OUTCOME_UNKNOWN';
  }
}

/** Dialing, the handshake, or a read or write on a socket failed (`KMB_ERR_CONNECTION`). */
class ConnectionError extends KimberliteError {}
/** No node could serve the call: no leader, or every node down (`KMB_ERR_CLUSTER_UNAVAILABLE`). */
class ClusterUnavailableError extends ConnectionError {}
/** The official SDK's class for an oversized response; frames here are bounded, so never raised. */
class ResponseTooLargeError extends ConnectionError {}
/** The call's deadline passed (`KMB_ERR_TIMEOUT`). */
class TimeoutError extends KimberliteError {}
/** A bug inside the library, caught and reported (`KMB_ERR_INTERNAL`). */
class InternalError extends KimberliteError {}
/** An append was sent but its result could not be learned (`KMB_ERR_OUTCOME_UNKNOWN`): read first. */
class OutcomeUnknownError extends KimberliteError {}
/** The server answered with an error; `serverCode` is its wire code. */
class ServerError extends KimberliteError {}
/** The server refused the auth token (`KMB_ERR_AUTHENTICATION_FAILED`). */
class AuthenticationError extends ServerError {}
/** No stream has that id (`KMB_ERR_STREAM_NOT_FOUND`). */
class StreamNotFoundError extends ServerError {}
/** The stream's length is not the expected offset given to append (`KMB_ERR_OFFSET_MISMATCH`). */
class OffsetMismatchError extends ServerError {}
/** The server asked the client to slow down (`KMB_ERR_RATE_LIMITED`). */
class RateLimitedError extends ServerError {}
/** The node was not the leader (`KMB_ERR_NOT_LEADER`); the client follows such hints itself. */
class NotLeaderError extends ServerError {}
/** The server refused a duplicate key (`KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION`). */
class UniqueConstraintViolationError extends ServerError {}
/** The official SDK's permission class; protocol v5 has no such code, so never raised here. */
class PermissionDeniedError extends ServerError {}

const CLASS_OF_CODE = {
  KMB_ERR_CONNECTION: ConnectionError,
  KMB_ERR_CLUSTER_UNAVAILABLE: ClusterUnavailableError,
  KMB_ERR_TIMEOUT: TimeoutError,
  KMB_ERR_INTERNAL: InternalError,
  KMB_ERR_OUTCOME_UNKNOWN: OutcomeUnknownError,
  KMB_ERR_AUTHENTICATION_FAILED: AuthenticationError,
  KMB_ERR_STREAM_NOT_FOUND: StreamNotFoundError,
  KMB_ERR_OFFSET_MISMATCH: OffsetMismatchError,
  KMB_ERR_RATE_LIMITED: RateLimitedError,
  KMB_ERR_NOT_LEADER: NotLeaderError,
  KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION: UniqueConstraintViolationError,
};

/**
 * The error for a failure the addon reports: an instance of the class its status maps to
 * (ServerError for other server codes, KimberliteError otherwise). Handed to the addon as its
 * error constructor: `new errorFromNative(message, info)` yields that instance.
 */
function errorFromNative(message, info) {
  const code = info && typeof info.code === 'string' ? info.code : undefined;
  let Cls = CLASS_OF_CODE[code];
  if (Cls === undefined) Cls = info && typeof info.serverCode === 'number' ? ServerError : KimberliteError;
  return new Cls(message, info);
}

module.exports = {
  KimberliteError,
  ConnectionError,
  ClusterUnavailableError,
  ResponseTooLargeError,
  TimeoutError,
  InternalError,
  OutcomeUnknownError,
  ServerError,
  AuthenticationError,
  StreamNotFoundError,
  OffsetMismatchError,
  RateLimitedError,
  NotLeaderError,
  UniqueConstraintViolationError,
  PermissionDeniedError,
  errorFromNative,
};
