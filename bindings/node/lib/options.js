'use strict';

// Checks and normalises the options of Client.connect and of each call before anything reaches
// the addon: a TypeError or RangeError that names the option, never a silent default.

const { normaliseTLS } = require('./tls');

const U32_MAX = 4294967295;
const KEEP_ALIVE_DISABLED = 18446744073709551615n; // KMB_KEEP_ALIVE_DISABLED

// Every kmb_config_set_* option, in camelCase, with its kind.
const OPTIONS = {
  connectTimeoutMs: 'positiveMs',
  requestTimeoutMs: 'positiveMs',
  minIdleConnsPerNode: 'u32',
  maxConnsPerNode: 'count',
  maxInFlightPerConn: 'count',
  maxConnLifetimeMs: 'ms',
  maxConnLifetimeJitterMs: 'ms',
  maxConnIdleTimeMs: 'ms',
  healthCheckPeriodMs: 'ms',
  keepAliveMs: 'keepAlive',
  maxDialsPerNode: 'count',
  retryMaxAttempts: 'count',
  retryInitialBackoffMs: 'positiveMs',
  retryMaxBackoffMs: 'positiveMs',
  retryBudgetRatio: 'ratio',
  retryBudgetMinPerSec: 'u32',
  maxRedirects: 'u32',
  readFrom: 'readFrom',
  appendBatchMaxEvents: 'count',
  appendBatchMaxBytes: 'count',
};

// The official SDK's options: accepted and checked. readTimeoutMs / writeTimeoutMs bound a call
// (the larger becomes requestTimeoutMs unless that is given); bufferSizeBytes and autoReconnect
// have no effect (buffers grow as needed, and the client always re-dials and follows the leader).
const COMPAT = ['readTimeoutMs', 'writeTimeoutMs', 'bufferSizeBytes', 'autoReconnect'];

// How long a lone quick call (read, streamLength, ping, serverInfo awaited with no other call
// of the client in flight) may wait for its answer on the event-loop thread, in microseconds
// (kmb_client_set_async_patience_us): one wake-up instead of three hand-offs between threads.
// Off by default: the event loop is never held unless the user asks for it.
const DEFAULT_EVENT_LOOP_WAIT_MICROS = 0;
const MAX_EVENT_LOOP_WAIT_MICROS = 1000; // KMB_MAX_ASYNC_PATIENCE_US

const KNOWN = new Set(['addresses', 'tenantId', 'authToken', ...Object.keys(OPTIONS), ...COMPAT, 'tls', 'eventLoopWaitMicros']);

// Lower-cased spellings map back to the real name, so "tenantID", "auth_token" or "TenantId"
// are caught with a hint instead of being ignored.
const BY_LOOSE_NAME = new Map([...KNOWN].map((k) => [loose(k), k]));
function loose(name) {
  return name.toLowerCase().replace(/[_-]/g, '');
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function integerIn(name, v, min, max, unit = '') {
  if (typeof v !== 'number') throw new TypeError(`option "${name}" must be a number${unit}, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`option "${name}" must be an integer between ${min} and ${max}${unit}, got ${describe(v)}`);
  }
  return v;
}

function normaliseOption(name, kind, v) {
  switch (kind) {
    case 'ms':
      return integerIn(name, v, 0, Number.MAX_SAFE_INTEGER, ' (milliseconds)');
    case 'positiveMs':
      return integerIn(name, v, 1, Number.MAX_SAFE_INTEGER, ' (milliseconds)');
    case 'u32':
      return integerIn(name, v, 0, U32_MAX);
    case 'count':
      return integerIn(name, v, 1, U32_MAX);
    case 'keepAlive':
      if (v === false) return KEEP_ALIVE_DISABLED;
      return integerIn(name, v, 0, Number.MAX_SAFE_INTEGER, ' (milliseconds; false disables keep-alive)');
    case 'ratio':
      if (typeof v !== 'number') throw new TypeError(`option "${name}" must be a number, got ${describe(v)}`);
      if (!(v >= 0 && v <= 10)) throw new RangeError(`option "${name}" must be between 0 and 10, got ${describe(v)}`);
      return v;
    case 'readFrom':
      if (v === 'leader') return 0;
      if (v === 'anyHealthy') return 1;
      throw new TypeError(`option "${name}" must be "leader" or "anyHealthy", got ${describe(v)}`);
    default:
      throw new Error(`unknown option kind ${kind}`);
  }
}

function normaliseAddresses(addresses) {
  if (typeof addresses === 'string') addresses = [addresses];
  if (!Array.isArray(addresses)) {
    throw new TypeError(`option "addresses" must be an array of "host:port" strings, got ${describe(addresses)}`);
  }
  if (addresses.length === 0) throw new RangeError('option "addresses" must not be empty');
  return addresses.map((a, i) => {
    if (typeof a !== 'string') throw new TypeError(`option "addresses[${i}]" must be a "host:port" string, got ${describe(a)}`);
    if (a.length === 0 || a.includes('\0')) throw new TypeError(`option "addresses[${i}]" must be a "host:port" string, got ${describe(a)}`);
    return a;
  });
}

/**
 * normaliseConnectOptions returns [addresses, tenantId, authToken, options] for the addon.
 */
function normaliseConnectOptions(opts) {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`Client.connect options must be an object, got ${describe(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (KNOWN.has(key)) continue;
    const meant = BY_LOOSE_NAME.get(loose(key));
    if (meant) throw new TypeError(`Misspelled option "${key}" should be "${meant}"`);
    throw new TypeError(`Unknown option "${key}" (known options: ${[...KNOWN].join(', ')})`);
  }
  if (opts.addresses === undefined) throw new TypeError('option "addresses" is required');
  const addresses = normaliseAddresses(opts.addresses);
  let tenantId = opts.tenantId;
  if (tenantId === undefined) tenantId = 0n;
  tenantId = bigintIn('tenantId', tenantId, 'option ');
  let authToken = opts.authToken;
  if (authToken === undefined || authToken === null) authToken = '';
  if (typeof authToken !== 'string') throw new TypeError(`option "authToken" must be a string, got ${describe(authToken)}`);
  if (authToken.includes('\0')) throw new TypeError('option "authToken" must not contain NUL characters');
  const native = {};
  for (const [name, kind] of Object.entries(OPTIONS)) {
    if (opts[name] !== undefined) native[name] = normaliseOption(name, kind, opts[name]);
  }
  const io = ['readTimeoutMs', 'writeTimeoutMs'].filter((n) => opts[n] !== undefined).map((n) => normaliseOption(n, 'positiveMs', opts[n]));
  if (native.requestTimeoutMs === undefined && io.length > 0) native.requestTimeoutMs = Math.max(...io);
  if (opts.bufferSizeBytes !== undefined) normaliseOption('bufferSizeBytes', 'count', opts.bufferSizeBytes);
  if (opts.autoReconnect !== undefined && typeof opts.autoReconnect !== 'boolean') {
    throw new TypeError(`option "autoReconnect" must be a boolean, got ${describe(opts.autoReconnect)}`);
  }
  native.eventLoopWaitMicros = opts.eventLoopWaitMicros === undefined
    ? DEFAULT_EVENT_LOOP_WAIT_MICROS
    : integerIn('eventLoopWaitMicros', opts.eventLoopWaitMicros, 0, MAX_EVENT_LOOP_WAIT_MICROS, ' (microseconds)');
  Object.assign(native, normaliseTLS(opts.tls));
  if (native.minIdleConnsPerNode !== undefined && native.maxConnsPerNode !== undefined && native.minIdleConnsPerNode > native.maxConnsPerNode) {
    throw new RangeError(`option "minIdleConnsPerNode" (${native.minIdleConnsPerNode}) must be <= "maxConnsPerNode" (${native.maxConnsPerNode})`);
  }
  return [addresses, tenantId, authToken, native];
}

const U64_MAX = 18446744073709551615n;

/** bigintIn checks a 64-bit unsigned id or offset. Numbers are refused: ids are bigints. */
function bigintIn(name, v, prefix = '') {
  if (typeof v !== 'bigint') {
    const hint = typeof v === 'number' && Number.isInteger(v) ? ` (write ${v}n or BigInt(${v}))` : '';
    throw new TypeError(`${prefix}"${name}" must be a bigint, got ${describe(v)}${hint}`);
  }
  if (v < 0n || v > U64_MAX) throw new RangeError(`${prefix}"${name}" must be between 0n and 2n ** 64n - 1n, got ${v}n`);
  return v;
}

module.exports = { normaliseConnectOptions, bigintIn, describe, OPTIONS, KEEP_ALIVE_DISABLED };
