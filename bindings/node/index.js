'use strict';
/**
 * @kimberlite/client: a pooled, pipelined, failover-aware client for Kimberlite clusters.
 * See index.d.ts for the documented API.
 */
const { Client, DataClass, Placement } = require('./lib/client');
const errors = require('./lib/errors');
const { KimberliteError } = errors;
const { Subscription } = require('./lib/subscription');
const { load } = require('./lib/binding');
const { Pool, PooledClient } = require('./lib/pool');
const { withRetry, DEFAULT_RETRY } = require('./lib/retry');
const { TenantPool } = require('./lib/tenant-pool');

/** The version of the native library (libkimberlite) the addon runs on. Loads the addon. */
function libraryVersion() {
  return load().version();
}

module.exports = { Client, DataClass, KimberliteError, libraryVersion, Subscription };

// The official SDK's names: placements and the error classes chosen by status.
Object.assign(module.exports, {
  Placement,
  Pool,
  PooledClient,
  TenantPool,
  withRetry,
  DEFAULT_RETRY,
  ConnectionError: errors.ConnectionError,
  ClusterUnavailableError: errors.ClusterUnavailableError,
  ResponseTooLargeError: errors.ResponseTooLargeError,
  TimeoutError: errors.TimeoutError,
  InternalError: errors.InternalError,
  OutcomeUnknownError: errors.OutcomeUnknownError,
  ServerError: errors.ServerError,
  AuthenticationError: errors.AuthenticationError,
  StreamNotFoundError: errors.StreamNotFoundError,
  OffsetMismatchError: errors.OffsetMismatchError,
  RateLimitedError: errors.RateLimitedError,
  NotLeaderError: errors.NotLeaderError,
  UniqueConstraintViolationError: errors.UniqueConstraintViolationError,
  PermissionDeniedError: errors.PermissionDeniedError,
});
