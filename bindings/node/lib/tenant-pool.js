'use strict';

// TenantPool: one cached Client per tenant, least recently used first out. A Client is bound to
// one tenant; a multi-tenant application keeps one per tenant it serves. The pool makes them on
// demand with a factory, keeps at most maxSize, and disconnects those unused for idleTimeoutMs.
// A client evicted while withClient uses it is disconnected when that call settles.

const { Client } = require('./client');
const { describe } = require('./options');

class TenantPool {
  /**
   * @param {{ factory: (tenantId: bigint) => Promise<Client>, maxSize?: number, idleTimeoutMs?: number, nowMs?: () => number }} config
   */
  constructor(config) {
    if (typeof config !== 'object' || config === null) throw new TypeError(`TenantPool options must be an object, got ${describe(config)}`);
    const { factory, maxSize = 128, idleTimeoutMs = 300000, nowMs = () => performance.now() } = config;
    if (typeof factory !== 'function') throw new TypeError('option "factory" must be a function (tenantId) => Promise<Client>');
    if (!Number.isSafeInteger(maxSize) || maxSize <= 0) throw new RangeError(`maxSize must be > 0, got ${describe(maxSize)}`);
    if (!Number.isSafeInteger(idleTimeoutMs) || idleTimeoutMs < 0) throw new RangeError(`idleTimeoutMs must be >= 0, got ${describe(idleTimeoutMs)}`);
    this._factory = factory;
    this._maxSize = maxSize;
    this._idleTimeoutMs = idleTimeoutMs;
    this._nowMs = nowMs;
    this._cache = new Map(); // tenantId -> { client, last }; Map order is recency order
    this._connecting = new Map(); // tenantId -> Promise<Client>
    this._borrows = new Map(); // client -> withClient calls running on it
    this._closeAfter = new Set(); // evicted while borrowed
    this._stats = { hits: 0, misses: 0, evictions: 0, idleEvictions: 0 };
  }

  /** The tenant's Client, made by the factory when it is not cached (once, however many ask). */
  async acquire(tenantId) {
    if (typeof tenantId !== 'bigint') throw new TypeError(`"tenantId" must be a bigint, got ${describe(tenantId)}`);
    this._expireIdle();
    const entry = this._cache.get(tenantId);
    if (entry !== undefined) {
      this._cache.delete(tenantId);
      entry.last = this._nowMs();
      this._cache.set(tenantId, entry);
      this._stats.hits++;
      return entry.client;
    }
    const pending = this._connecting.get(tenantId);
    if (pending !== undefined) {
      this._stats.hits++;
      return pending;
    }
    this._stats.misses++;
    const made = (async () => {
      const client = await this._factory(tenantId);
      if (!(client instanceof Client)) throw new TypeError(`factory resolved to ${describe(client)}, not a Client`);
      while (this._cache.size >= this._maxSize) {
        const [oldest, old] = this._cache.entries().next().value;
        this._cache.delete(oldest);
        this._stats.evictions++;
        this._drop(old.client);
      }
      this._cache.set(tenantId, { client, last: this._nowMs() });
      return client;
    })();
    this._connecting.set(tenantId, made);
    try {
      return await made;
    } finally {
      this._connecting.delete(tenantId);
    }
  }

  /** Resolves to `await fn(client)` with the tenant's client; an eviction meanwhile waits for it. */
  async withClient(tenantId, fn) {
    const client = await this.acquire(tenantId);
    this._borrows.set(client, (this._borrows.get(client) || 0) + 1);
    try {
      return await fn(client);
    } finally {
      const n = this._borrows.get(client) - 1;
      if (n > 0) {
        this._borrows.set(client, n);
      } else {
        this._borrows.delete(client);
        if (this._closeAfter.delete(client)) await client.disconnect();
      }
    }
  }

  /** Disconnects every cached client; later acquires make new ones. */
  async close() {
    const clients = [...this._cache.values()].map((e) => e.client);
    this._cache.clear();
    await Promise.all(clients.map((c) => this._drop(c)));
  }

  /** A snapshot: `{ size, hits, misses, evictions, idleEvictions }`. */
  stats() {
    return { size: this._cache.size, ...this._stats };
  }

  _expireIdle() {
    if (this._idleTimeoutMs === 0) return;
    const cutoff = this._nowMs() - this._idleTimeoutMs;
    for (const [tid, e] of this._cache) {
      if (e.last < cutoff) {
        this._cache.delete(tid);
        this._stats.idleEvictions++;
        this._drop(e.client);
      }
    }
  }

  _drop(client) {
    if (this._borrows.has(client)) {
      this._closeAfter.add(client);
      return Promise.resolve();
    }
    return client.disconnect().catch(() => {});
  }
}

module.exports = { TenantPool };
