'use strict';

const { load } = require('./binding');
const { bigintIn, describe } = require('./options');

const NO_TIMEOUT = 18446744073709551615n; // KMB_NO_TIMEOUT
const U32_MAX = 4294967295;
const STATE = Symbol('kimberlite.subscription');
const CONSTRUCT = Symbol('kimberlite.construct');
const KNOWN = ['fromOffset', 'initialCredits', 'consumerGroup', 'lowWater', 'refill', 'timeoutMs'];

function checkSubscribeOptions(opts) {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`subscribe options must be an object, got ${describe(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (!KNOWN.includes(key)) {
      const meant = KNOWN.find((k) => k.toLowerCase() === key.toLowerCase().replace(/_/g, ''));
      throw new TypeError(meant ? `Misspelled option "${key}" should be "${meant}"` : `Unknown subscribe option "${key}" (known: ${KNOWN.join(', ')})`);
    }
  }
  return opts;
}

function u32(name, v, dflt, min = 0) {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`"${name}" must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > U32_MAX) throw new RangeError(`"${name}" must be an integer between ${min} and ${U32_MAX}, got ${describe(v)}`);
  return v;
}

function timeoutIn(v, dflt) {
  if (v === undefined) return dflt;
  if (v === null || v === Infinity) return NO_TIMEOUT;
  if (typeof v !== 'number') throw new TypeError(`"timeoutMs" must be a number of milliseconds or null, got ${describe(v)}`);
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`"timeoutMs" must be >= 0, got ${describe(v)}`);
  return BigInt(Math.ceil(v));
}

const isEnd = (err) => err && (err.code === 'KMB_ERR_SUBSCRIPTION_CLOSED' || err.code === 'KMB_ERR_CLOSED');

/**
 * A subscription to one stream (see index.d.ts): an AsyncIterable of events in offset order.
 * Batches are asked for one at a time, only when the consumer has taken every event of the last
 * one, so a slow consumer leaves the rest with the library, whose credit window bounds them.
 */
class Subscription {
  constructor(token, native, streamId, fromOffset, timeoutMs) {
    if (token !== CONSTRUCT) throw new TypeError('use client.subscribe(streamId, options) to create a Subscription');
    Object.defineProperty(this, STATE, {
      value: {
        native,
        streamId,
        nextOffset: fromOffset,
        timeoutMs,
        batch: [],
        at: 0,
        end: null, // the error that ended it, once known
        unsubscribed: false,
        closing: null,
        queue: Promise.resolve(),
        queued: 0, // calls waiting in the queue
      },
    });
  }

  get streamId() {
    return this[STATE].streamId;
  }

  get id() {
    return load().subState(this[STATE].native).id;
  }

  get credits() {
    return load().subState(this[STATE].native).credits;
  }

  get nextOffset() {
    return this[STATE].nextOffset;
  }

  get closeReason() {
    const reason = load().subState(this[STATE].native).closeReason;
    return reason === '' ? null : reason;
  }

  get node() {
    const node = load().subState(this[STATE].native).node;
    return node === '' ? null : node;
  }

  get closed() {
    const s = this[STATE];
    return s.unsubscribed || s.end !== null || this.closeReason !== null;
  }

  async grantCredits(n) {
    if (n === undefined) throw new TypeError('"n" must be a number');
    return load().subGrant(this[STATE].native, u32('n', n, undefined, 1));
  }

  unsubscribe() {
    const s = this[STATE];
    if (s.closing === null) {
      s.unsubscribed = true;
      s.batch = [];
      s.at = 0;
      s.closing = load().subClose(s.native);
    }
    return s.closing;
  }

  nextEvent(options) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(new TypeError(`nextEvent options must be an object, got ${describe(options)}`));
    }
    let timeout;
    try {
      timeout = timeoutIn(options && options.timeoutMs, this[STATE].timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queued(() => this.#take(timeout));
  }

  next() {
    // Fast path: an event of the current batch, when no call waits before this one.
    const s = this[STATE];
    if (s.queued === 0 && !s.unsubscribed && s.at < s.batch.length) return Promise.resolve({ value: this.#shift(), done: false });
    return this.#queued(async () => {
      const value = await this.#take(this[STATE].timeoutMs);
      return value === null ? { value: undefined, done: true } : { value, done: false };
    });
  }

  async return() {
    await this.unsubscribe();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  get [Symbol.toStringTag]() {
    return 'KimberliteSubscription';
  }

  // Calls run one after another, so only one batch is ever requested at a time.
  #queued(fn) {
    const s = this[STATE];
    s.queued++;
    const p = s.queue.then(fn).finally(() => s.queued--);
    s.queue = p.catch(() => {});
    return p;
  }

  #shift() {
    const s = this[STATE];
    const e = s.batch[s.at];
    s.batch[s.at++] = undefined;
    s.nextOffset = e.offset + 1n;
    return e;
  }

  async #take(timeoutMs) {
    const s = this[STATE];
    for (;;) {
      if (s.unsubscribed) return null;
      if (s.at < s.batch.length) return this.#shift();
      if (s.end !== null) throw s.end;
      let page;
      try {
        page = await load().subNext(s.native, timeoutMs);
      } catch (err) {
        if (s.unsubscribed) return null;
        if (isEnd(err)) s.end = err;
        throw err; // a timeout leaves the subscription usable
      }
      if (s.unsubscribed) return null;
      s.batch = page.events;
      s.at = 0;
    }
  }
}

/** subscribe checks the options, then subscribes through the addon. */
async function subscribe(handle, streamId, options) {
  bigintIn('streamId', streamId);
  const opts = checkSubscribeOptions(options);
  if (opts.consumerGroup !== undefined && opts.consumerGroup !== null) {
    throw new RangeError('"consumerGroup" is not supported: the server has no consumer groups');
  }
  const from = opts.fromOffset === undefined ? 0n : bigintIn('fromOffset', opts.fromOffset);
  const credits = u32('initialCredits', opts.initialCredits, 128);
  const lowWater = u32('lowWater', opts.lowWater, 0);
  const refill = u32('refill', opts.refill, 0);
  const timeoutMs = timeoutIn(opts.timeoutMs, NO_TIMEOUT);
  const native = await load().subscribe(handle, streamId, from, credits, lowWater, refill);
  return new Subscription(CONSTRUCT, native, streamId, from, timeoutMs);
}

module.exports = { Subscription, subscribe };
