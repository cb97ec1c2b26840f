'use strict';

const { load } = require('./binding');
const { normaliseConnectOptions, bigintIn, describe } = require('./options');
const { subscribe } = require('./subscription');
const events = require('./events');

const HANDLE = Symbol('kimberlite.handle');
const CLOSING = Symbol('kimberlite.closing');
const CONSTRUCT = Symbol('kimberlite.construct');
const TENANT = Symbol('kimberlite.tenant');
const RECONNECTS = Symbol('kimberlite.reconnects');

const MAX_BATCH_BYTES = 16 * 1024 * 1024; // KMB_MAX_BATCH_BYTES

/**
 * Data classes of a stream: the official SDK's string values, plus NonPHI (the user guide's name
 * for data that is not health information, stored as Public).
 */
const DataClass = Object.freeze({
  PHI: 'PHI',
  Deidentified: 'Deidentified',
  PII: 'PII',
  Sensitive: 'Sensitive',
  PCI: 'PCI',
  Financial: 'Financial',
  Confidential: 'Confidential',
  Public: 'Public',
  NonPHI: 'NonPHI',
});

// DataClass -> KMB_DATA_CLASS_* (wire order).
const WIRE_DATA_CLASS = Object.freeze({
  PHI: 0, Deidentified: 1, PII: 2, Sensitive: 3, PCI: 4, Financial: 5, Confidential: 6, Public: 7, NonPHI: 7,
});

/** Placements of a stream (the official SDK's values). This server stores every stream globally. */
const Placement = Object.freeze({
  Global: 'Global',
  UsEast1: 'UsEast1',
  ApSoutheast2: 'ApSoutheast2',
});

// A DataClass value (or, as in earlier versions of this package, its wire number 0..7).
function wireDataClass(dataClass) {
  if (typeof dataClass === 'string' && Object.prototype.hasOwnProperty.call(WIRE_DATA_CLASS, dataClass)) return WIRE_DATA_CLASS[dataClass];
  if (typeof dataClass === 'number' && Number.isInteger(dataClass) && dataClass >= 0 && dataClass <= 7) return dataClass;
  if (typeof dataClass !== 'string' && typeof dataClass !== 'number') {
    throw new TypeError(`"dataClass" must be a DataClass value, got ${describe(dataClass)}`);
  }
  throw new RangeError(`"dataClass" must be a DataClass value (${Object.keys(DataClass).join(', ')}), got ${describe(dataClass)}`);
}

// A read page as the official SDK returns it: an Event[] array, carrying nextOffset, hasMore and
// (for code written for earlier versions of this package) events, all non-enumerable so that
// the array compares, prints and spreads as a plain array.
function readResult(page) {
  const events = page.events;
  Object.defineProperty(events, 'nextOffset', { value: page.nextOffset, writable: true, configurable: true });
  Object.defineProperty(events, 'hasMore', { value: page.hasMore, writable: true, configurable: true });
  Object.defineProperty(events, 'events', { value: events, writable: true, configurable: true });
  return events;
}

function checkOptions(method, opts, known) {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${method} options must be an object, got ${describe(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      const meant = known.find((k) => k.toLowerCase() === key.toLowerCase().replace(/_/g, ''));
      throw new TypeError(meant ? `Misspelled option "${key}" should be "${meant}"` : `Unknown ${method} option "${key}" (known: ${known.join(', ')})`);
    }
  }
  return opts;
}

function normaliseEvents(events) {
  if (!Array.isArray(events)) throw new TypeError(`"events" must be an array of Buffer or Uint8Array, got ${describe(events)}`);
  if (events.length === 0) throw new RangeError('Cannot append empty event list ("events" must not be empty)');
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!(e instanceof Uint8Array)) {
      const hint = typeof e === 'string' ? ' (use Buffer.from(string))' : '';
      throw new TypeError(`"events[${i}]" must be a Buffer or Uint8Array, got ${describe(e)}${hint}`);
    }
    total += e.byteLength;
  }
  if (total > MAX_BATCH_BYTES) {
    throw new RangeError(`"events" hold ${total} bytes, more than the largest batch (${MAX_BATCH_BYTES} bytes); split them into several appends`);
  }
  return events;
}

function normaliseMaxBytes(v, name = 'maxBytes') {
  if (v === undefined) return 0n;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`"${name}" must be a non-negative integer, got ${describe(v)}`);
    return BigInt(v);
  }
  return bigintIn(name, v);
}

/**
 * A connected client: pooled, pipelined connections to a Kimberlite cluster. Make one with
 * `await Client.connect({...})`, share it across the application, and `disconnect()` it at
 * shutdown. Every method returns a Promise; none blocks the event loop, unless asked to with
 * ConnectOptions.eventLoopWaitMicros (a bounded wait for a lone quick call).
 */
class Client {
  constructor(token, handle) {
    if (token !== CONSTRUCT) throw new TypeError('use Client.connect(options) to create a Client');
    Object.defineProperty(this, HANDLE, { value: handle, writable: true });
    Object.defineProperty(this, CLOSING, { value: null, writable: true });
    Object.defineProperty(this, RECONNECTS, { value: 0, writable: true });
  }

  /** Connects to the first address that answers and finds the leader from there. */
  static async connect(options) {
    const args = normaliseConnectOptions(options);
    const sink = events.sink();
    let handle;
    try {
      handle = await load().connect(...args, sink.observer);
    } catch (e) {
      events.release(sink);
      throw e;
    }
    const client = new Client(CONSTRUCT, handle);
    Object.defineProperty(client, TENANT, { value: args[1] });
    events.attach(sink, client);
    return client;
  }

  /** Creates a stream, or finds it by name (idempotent). Resolves to its id. */
  async createStream(name, dataClass) {
    const h = handleOf(this);
    if (typeof name !== 'string') throw new TypeError(`"name" must be a string, got ${describe(name)}`);
    if (name.length === 0) throw new RangeError('"name" must not be empty');
    if (name.includes('\0')) throw new TypeError('"name" must not contain NUL characters');
    return load().createStream(h, name, wireDataClass(dataClass));
  }

  /**
   * createStream with a placement. This server stores every stream globally, so only
   * Placement.Global is accepted; a regional placement rejects with a RangeError rather than
   * being silently ignored.
   */
  async createStreamWithPlacement(name, dataClass, placement) {
    handleOf(this);
    if (placement !== Placement.Global) {
      throw new RangeError(`"placement" must be Placement.Global: this server stores every stream globally, got ${describe(placement)}`);
    }
    return this.createStream(name, dataClass);
  }

  /**
   * Appends events atomically and in order. Resolves to the offset of the first one. The third
   * argument is the expected offset (a bigint, as the official SDK takes it) or an options
   * object `{ expectedOffset }`; left out, the events go at the end of the stream.
   */
  async append(streamId, events, expectedOffset) {
    const h = handleOf(this);
    bigintIn('streamId', streamId);
    normaliseEvents(events);
    let expected;
    if (typeof expectedOffset === 'bigint') {
      expected = bigintIn('expectedOffset', expectedOffset);
    } else if (expectedOffset !== undefined && expectedOffset !== null) {
      if (typeof expectedOffset === 'number') {
        throw new TypeError(`"expectedOffset" must be a bigint or append options { expectedOffset }, got ${describe(expectedOffset)} (write ${expectedOffset}n)`);
      }
      const opts = checkOptions('append', expectedOffset, ['expectedOffset']);
      expected = opts.expectedOffset === undefined ? undefined : bigintIn('expectedOffset', opts.expectedOffset);
    }
    return load().append(h, streamId, events, expected);
  }

  /**
   * Reads events from `fromOffset` (default 0n), about `maxBytes` of payload (0: 1 MiB).
   * Resolves to an array of events that also carries `nextOffset` and `hasMore`.
   */
  async read(streamId, options) {
    const h = handleOf(this);
    bigintIn('streamId', streamId);
    const opts = checkOptions('read', options, ['fromOffset', 'maxBytes']);
    const from = opts.fromOffset === undefined ? 0n : bigintIn('fromOffset', opts.fromOffset);
    return readResult(await load().read(h, streamId, from, normaliseMaxBytes(opts.maxBytes)));
  }

  /**
   * Iterates over every event of a stream from `fromOffset`, one read at a time of about
   * `batchSize` (or `maxBytes`) payload bytes each.
   */
  async *readAll(streamId, options) {
    bigintIn('streamId', streamId);
    const opts = checkOptions('readAll', options, ['fromOffset', 'maxBytes', 'batchSize']);
    if (opts.batchSize !== undefined && opts.maxBytes !== undefined) {
      throw new TypeError('readAll takes "batchSize" or "maxBytes", not both');
    }
    let from = opts.fromOffset === undefined ? 0n : bigintIn('fromOffset', opts.fromOffset);
    const maxBytes = opts.batchSize !== undefined ? normaliseMaxBytes(opts.batchSize, 'batchSize') : normaliseMaxBytes(opts.maxBytes);
    for (;;) {
      const page = await load().read(handleOf(this), streamId, from, maxBytes);
      for (const e of page.events) yield e;
      if (!page.hasMore || page.events.length === 0) return;
      from = page.nextOffset;
    }
  }

  /** Follows a stream as its events commit; resolves to a Subscription (an AsyncIterable). */
  async subscribe(streamId, options) {
    return subscribe(handleOf(this), streamId, options);
  }

  /** The number of events in a stream (its next offset). */
  async streamLength(streamId) {
    const h = handleOf(this);
    bigintIn('streamId', streamId);
    return load().streamLength(h, streamId);
  }

  /** Asks the leader to flush its projections (appends are durable when acknowledged). */
  async sync() {
    return load().sync(handleOf(this));
  }

  /** One round trip to the leader. */
  async ping() {
    return load().ping(handleOf(this));
  }

  /** What the leader says about itself. */
  async serverInfo() {
    return load().serverInfo(handleOf(this));
  }

  /** A snapshot of the client's counters (no network traffic), keys in camelCase. */
  stats() {
    return events.camelStats(JSON.parse(load().stats(handleOf(this))));
  }

  /** The client's metrics in the Prometheus text format (no network traffic). */
  metricsText() {
    return load().metricsText(handleOf(this));
  }

  /** The tenant every request is made for. */
  get tenantId() {
    return this[TENANT];
  }

  /**
   * Always null: the library does not report the request ids of successful calls (a failure
   * carries its own in KimberliteError.requestId).
   */
  get lastRequestId() {
    return null;
  }

  /**
   * One round trip to the cluster (a ping). The client re-dials lost connections and follows
   * leader changes by itself, so there is nothing to re-create.
   */
  async reconnect() {
    await this.ping();
    this[RECONNECTS] += 1;
  }

  /** How many times reconnect() succeeded on this client. */
  get reconnectCount() {
    return this[RECONNECTS];
  }

  /** Whether disconnect() has been called. */
  get closed() {
    return this[CLOSING] !== null;
  }

  /**
   * Closes every connection and library thread of this client. Calls in flight fail with
   * KMB_ERR_CLOSED; later calls reject at once. Idempotent: every call returns the same Promise.
   */
  disconnect() {
    if (!(this instanceof Client)) return Promise.reject(new TypeError('disconnect must be called on a Client'));
    if (this[CLOSING] === null) this[CLOSING] = load().close(this[HANDLE]).finally(() => events.releaseOf(this));
    return this[CLOSING];
  }

  get [Symbol.toStringTag]() {
    return 'KimberliteClient';
  }
}

function handleOf(client) {
  if (!(client instanceof Client)) throw new TypeError('method called on an object that is not a Client');
  return client[HANDLE];
}

events.install(Client);

module.exports = { Client, DataClass, Placement };
