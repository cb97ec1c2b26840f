'use strict';

const { load } = require('./binding');
const { normaliseConnectOptions, bigintIn, describe } = require('./options');
const events = require('./events');

const HANDLE = Symbol('kimberlite.handle');
const CLOSING = Symbol('kimberlite.closing');
const CONSTRUCT = Symbol('kimberlite.construct');

const MAX_BATCH_BYTES = 16 * 1024 * 1024; // KMB_MAX_BATCH_BYTES

/**
 * Data classes of a stream (wire order). NonPHI is the user guide's name for Public.
 */
const DataClass = Object.freeze({
  PHI: 0,
  Deidentified: 1,
  PII: 2,
  Sensitive: 3,
  PCI: 4,
  Financial: 5,
  Confidential: 6,
  Public: 7,
  NonPHI: 7,
});

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
  if (events.length === 0) throw new RangeError('"events" must not be empty');
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

function normaliseMaxBytes(v) {
  if (v === undefined) return 0n;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`"maxBytes" must be a non-negative integer, got ${describe(v)}`);
    return BigInt(v);
  }
  return bigintIn('maxBytes', v);
}

/**
 * A connected client: pooled, pipelined connections to a Kimberlite cluster. Make one with
 * `await Client.connect({...})`, share it across the application, and `disconnect()` it at
 * shutdown. Every method returns a Promise; none blocks the event loop.
 */
class Client {
  constructor(token, handle) {
    if (token !== CONSTRUCT) throw new TypeError('use Client.connect(options) to create a Client');
    Object.defineProperty(this, HANDLE, { value: handle, writable: true });
    Object.defineProperty(this, CLOSING, { value: null, writable: true });
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
    events.attach(sink, client);
    return client;
  }

  /** Creates a stream, or finds it by name (idempotent). Resolves to its id. */
  async createStream(name, dataClass) {
    const h = handleOf(this);
    if (typeof name !== 'string') throw new TypeError(`"name" must be a string, got ${describe(name)}`);
    if (name.length === 0) throw new RangeError('"name" must not be empty');
    if (name.includes('\0')) throw new TypeError('"name" must not contain NUL characters');
    if (typeof dataClass !== 'number') throw new TypeError(`"dataClass" must be a DataClass value, got ${describe(dataClass)}`);
    if (!Number.isInteger(dataClass) || dataClass < 0 || dataClass > 7) {
      throw new RangeError(`"dataClass" must be a DataClass value (0..7), got ${describe(dataClass)}`);
    }
    return load().createStream(h, name, dataClass);
  }

  /** Appends events atomically and in order. Resolves to the offset of the first one. */
  async append(streamId, events, options) {
    const h = handleOf(this);
    bigintIn('streamId', streamId);
    normaliseEvents(events);
    const opts = checkOptions('append', options, ['expectedOffset']);
    const expected = opts.expectedOffset === undefined ? undefined : bigintIn('expectedOffset', opts.expectedOffset);
    return load().append(h, streamId, events, expected);
  }

  /** Reads events from `fromOffset` (default 0n), about `maxBytes` of payload (0: 1 MiB). */
  async read(streamId, options) {
    const h = handleOf(this);
    bigintIn('streamId', streamId);
    const opts = checkOptions('read', options, ['fromOffset', 'maxBytes']);
    const from = opts.fromOffset === undefined ? 0n : bigintIn('fromOffset', opts.fromOffset);
    return load().read(h, streamId, from, normaliseMaxBytes(opts.maxBytes));
  }

  /** Iterates over every event of a stream from `fromOffset`, one read at a time. */
  async *readAll(streamId, options) {
    bigintIn('streamId', streamId);
    const opts = checkOptions('readAll', options, ['fromOffset', 'maxBytes']);
    let from = opts.fromOffset === undefined ? 0n : bigintIn('fromOffset', opts.fromOffset);
    const maxBytes = normaliseMaxBytes(opts.maxBytes);
    for (;;) {
      const page = await load().read(handleOf(this), streamId, from, maxBytes);
      for (const e of page.events) yield e;
      if (!page.hasMore || page.events.length === 0) return;
      from = page.nextOffset;
    }
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

module.exports = { Client, DataClass };
