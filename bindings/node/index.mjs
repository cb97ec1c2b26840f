// ES module entry of @kimberlite/client: the same objects as the CommonJS entry.
import cjs from './index.js';

export const { Client, DataClass, KimberliteError, libraryVersion } = cjs;
export const { Subscription } = cjs;
// The official SDK's names.
export const {
  Placement, Pool, PooledClient, TenantPool, withRetry, DEFAULT_RETRY, ConnectionError, ClusterUnavailableError, ResponseTooLargeError, TimeoutError, InternalError,
  OutcomeUnknownError, ServerError, AuthenticationError, StreamNotFoundError, OffsetMismatchError,
  RateLimitedError, NotLeaderError, UniqueConstraintViolationError, PermissionDeniedError,
} = cjs;
export default cjs;
