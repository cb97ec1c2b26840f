'use strict';

// Pool: the official SDK's pool interface over one shared Client. A Client already pools and
// pipelines connections to every node and serves any number of concurrent calls, so a pool of
// clients would only multiply sockets; Pool keeps the interface and its cap on concurrent
// borrowers (maxSize), and connects the shared client at the first acquire.

const { Client } = require('./client');
const { KimberliteError, TimeoutError } = require('./errors');
const { describe } = require('./options');


function closedError(message) {
  return new KimberliteError(message, { code: 'KMB_ERR_CLOSED' });
}

function nonNegativeInt(name, v, dflt) {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`option "${name}" must be a non-negative integer (milliseconds), got ${describe(v)}`);
  }
  return v;
}

/**
 * At most `maxSize` concurrent borrowers of one shared {@link Client}. Make one with
 * `await Pool.create({...})`.
 */
class Pool {
  constructor(config) {
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new TypeError(`Pool.create options must be an object, got ${describe(config)}`);
    }
    const { address, addresses, maxSize = 10, acquireTimeoutMs, idleTimeoutMs, ...connect } = config;
    if (address !== undefined && addresses !== undefined) throw new TypeError('Pool.create takes "address" or "addresses", not both');
    if (address === undefined && addresses === undefined) throw new TypeError('option "address" is required');
    if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize <= 0) {
      throw new RangeError(`maxSize must be > 0, got ${describe(maxSize)}`);
    }
    this._maxSize = maxSize;
    this._acquireTimeoutMs = nonNegativeInt('acquireTimeoutMs', acquireTimeoutMs, 30000);
    const idle = nonNegativeInt('idleTimeoutMs', idleTimeoutMs, 300000);
    this._connect = { addresses: addresses !== undefined ? addresses : address, ...connect };
    if (this._connect.maxConnIdleTimeMs === undefined) this._connect.maxConnIdleTimeMs = idle;
    this._client = null;
    this._connecting = null;
    this._inUse = 0;
    this._waiters = [];
    this._shutdown = false;
  }

  /**
   * Makes a pool; connections open at the first acquire. Options: `address` (one
   * `"host:port"`, or an array) or `addresses`, `tenantId`, `authToken`, `maxSize` (default 10),
   * `acquireTimeoutMs` (default 30000; 0 waits forever), `idleTimeoutMs` (default 300000; 0
   * never closes idle connections), and every option of {@link Client.connect}.
   */
  static async create(config) {
    const pool = new Pool(config);
    // Check the connect options now, so that a mistake is reported here and not at acquire.
    require('./options').normaliseConnectOptions(pool._connect);
    return pool;
  }

  /** The cap on concurrent borrowers. */
  get maxSize() {
    return this._maxSize;
  }

  /**
   * Borrows the shared client, waiting up to `acquireTimeoutMs` for a free slot (then a
   * TimeoutError). Rejects with a KimberliteError "Pool is closed" after shutdown.
   */
  async acquire() {
    if (this._shutdown) throw closedError('Pool is closed');
    if (this._inUse < this._maxSize) {
      this._inUse++;
    } else {
      await new Promise((resolve, reject) => {
        const waiter = { resolve, reject, timer: null };
        if (this._acquireTimeoutMs > 0) {
          waiter.timer = setTimeout(() => {
            this._waiters.splice(this._waiters.indexOf(waiter), 1);
            reject(new TimeoutError(`Pool.acquire: all ${this._maxSize} clients stayed in use for ${this._acquireTimeoutMs} ms`, { code: 'KMB_ERR_TIMEOUT', retryable: true }));
          }, this._acquireTimeoutMs);
        }
        this._waiters.push(waiter);
      });
    }
    try {
      return new PooledClient(this, await this._sharedClient());
    } catch (e) {
      this._giveBack();
      throw e;
    }
  }

  async _sharedClient() {
    if (this._client !== null) return this._client;
    if (this._connecting === null) {
      this._connecting = Client.connect(this._connect).then(
        async (c) => {
          this._connecting = null;
          if (this._shutdown) {
            await c.disconnect();
            throw closedError('Pool is closed');
          }
          this._client = c;
          return c;
        },
        (e) => {
          this._connecting = null;
          throw e;
        },
      );
    }
    return this._connecting;
  }

  _giveBack() {
    const next = this._waiters.shift();
    if (next !== undefined) {
      // The slot passes straight to the next waiter.
      if (next.timer !== null) clearTimeout(next.timer);
      next.resolve();
    } else {
      this._inUse--;
    }
  }

  /** Calls `fn` with a borrowed client and releases it when `fn` settles, whatever the result. */
  async withClient(fn) {
    const client = await this.acquire();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  /** A snapshot: `{ maxSize, open (1 while the shared client is connected), idle (free slots), inUse, shutdown }`. */
  stats() {
    const open = this._client !== null && !this._client.closed ? 1 : 0;
    return { maxSize: this._maxSize, open, idle: this._maxSize - this._inUse, inUse: this._inUse, shutdown: this._shutdown };
  }

  /**
   * Refuses later acquires, rejects waiting ones, and disconnects the shared client (calls of
   * borrowed clients then reject with KMB_ERR_CLOSED). Idempotent; resolves when closed.
   */
  shutdown() {
    if (this._shutdown) return this._closing;
    this._shutdown = true;
    for (const w of this._waiters.splice(0)) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.reject(closedError('Pool is closed'));
    }
    const client = this._client;
    this._client = null;
    this._closing = client === null ? Promise.resolve() : client.disconnect();
    return this._closing;
  }
}

/**
 * One borrow of a {@link Pool}'s shared client. `release()` gives the slot back; `discard()`
 * does the same (the shared client replaces broken connections itself). Both are idempotent.
 * Afterwards every call rejects with "PooledClient has been released".
 */
class PooledClient {
  constructor(pool, client) {
    this._pool = pool;
    this._client = client;
  }

  _c() {
    if (this._pool === null) throw closedError('PooledClient has been released');
    return this._client;
  }

  /** Gives the slot back to the pool. Idempotent. */
  release() {
    const pool = this._pool;
    this._pool = null;
    if (pool !== null) pool._giveBack();
  }

  /** As release(): the shared client heals its own connections. Idempotent. */
  discard() {
    this.release();
  }

  /** Whether release() or discard() was called. */
  get released() {
    return this._pool === null;
  }

  get tenantId() {
    return this._c().tenantId;
  }

  get lastRequestId() {
    return this._c().lastRequestId;
  }

  async createStream(name, dataClass) {
    return this._c().createStream(name, dataClass);
  }

  async createStreamWithPlacement(name, dataClass, placement) {
    return this._c().createStreamWithPlacement(name, dataClass, placement);
  }

  async append(streamId, events, expectedOffset) {
    return this._c().append(streamId, events, expectedOffset);
  }

  async read(streamId, options) {
    return this._c().read(streamId, options);
  }

  readAll(streamId, options) {
    return this._c().readAll(streamId, options);
  }

  async streamLength(streamId) {
    return this._c().streamLength(streamId);
  }

  async sync() {
    return this._c().sync();
  }
}

module.exports = { Pool, PooledClient };
