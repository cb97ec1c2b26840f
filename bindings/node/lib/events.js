'use strict';

// Log records, cluster events and stats in the shapes of the Node API. The addon queues what the
// library reports on a threadsafe function; it arrives here on the JS thread and is emitted on
// the Client, which is an EventEmitter:
//
//   client.on('leaderChange', ({ leader, previous, view }) => ...)
//   client.on('nodeDown', ({ node, reason }) => ...)   client.on('nodeUp', ({ node }) => ...)
//   client.on('connectionOpen', ({ node }) => ...)     client.on('connectionClose', ({ node, reason }) => ...)
//   client.on('log', ({ level, message }) => ...)      // level: 'debug' | 'info' | 'warn' | 'error'

const { EventEmitter } = require('node:events');
const { load } = require('./binding');

const SINK = Symbol('kimberlite.events');
const EARLY_MAX = 1024; // what may arrive while connect() is still running

function levelName(n) {
  if (n >= 8) return 'error';
  if (n >= 4) return 'warn';
  if (n >= 0) return 'info';
  return 'debug';
}

// The addon's (kind, levelOrView, a, b, c) as an event name and its argument.
function shape(kind, x, a, b, c) {
  switch (kind) {
    case 'log': return ['log', { level: levelName(x), message: a }];
    case 'leader_changed': return ['leaderChange', { leader: a, previous: b, view: x }];
    case 'node_down': return ['nodeDown', { node: a, reason: c }];
    case 'node_up': return ['nodeUp', { node: a }];
    case 'conn_opened': return ['connectionOpen', { node: a }];
    case 'conn_closed': return ['connectionClose', { node: a, reason: c }];
    default: return null;
  }
}

/** A sink for one client: records that arrive before the client exists are kept and emitted
 * once it does, on a later turn of the loop (after the caller of connect() added listeners). */
function sink() {
  const s = { client: null, early: [], observer: null };
  s.observer = load().observer((kind, x, a, b, c) => {
    const ev = shape(kind, x, a, b, c);
    if (ev === null) return;
    if (s.client === null) {
      if (s.early.length < EARLY_MAX) s.early.push(ev);
      return;
    }
    const client = s.client.deref();
    if (client !== undefined) emit(client, ev);
  });
  return s;
}

function emit(client, [name, arg]) {
  if (client.listenerCount(name) > 0) client.emit(name, arg);
}

function attach(s, client) {
  EventEmitter.call(client);
  Object.defineProperty(client, SINK, { value: s });
  // Weakly: the addon holds this sink's function, which must not keep a forgotten client alive
  // (a garbage-collected client is closed by the addon).
  s.client = new WeakRef(client);
  collected.register(client, s.observer);
  const early = s.early;
  s.early = [];
  if (early.length > 0) setImmediate(() => early.forEach((ev) => emit(client, ev)));
}

// A client collected without disconnect(): stop delivering, but leave the library's reference to
// the observer, since the library may still be closing that client.
const collected = new FinalizationRegistry((observer) => load().releaseObserver(observer, false));

/** Stops delivery: the client is closed, or connect failed. */
function release(s) {
  if (s && s.observer !== null) {
    load().releaseObserver(s.observer);
    s.observer = null;
  }
}

function releaseOf(client) {
  release(client[SINK]);
}

/** Gives Client.prototype the EventEmitter methods (on, once, off, emit, ...). */
function install(Client) {
  for (const key of Reflect.ownKeys(EventEmitter.prototype)) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(Client.prototype, key)) continue;
    Object.defineProperty(Client.prototype, key, Object.getOwnPropertyDescriptor(EventEmitter.prototype, key));
  }
}

// The library's stats JSON (snake_case) in the camelCase of the rest of the Node API, every key
// converted (so a counter the library adds shows up without a change here). The keys of
// "operations" and "errors" are names (operations, error codes) and stay as they are.
const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const KEEP_KEYS = new Set(['operations', 'errors']);
function camelStats(raw) {
  const convert = (v) => {
    if (Array.isArray(v)) return v.map(convert);
    if (v === null || typeof v !== 'object') return v;
    const out = {};
    for (const [k, x] of Object.entries(v)) out[camel(k)] = KEEP_KEYS.has(k) ? x : convert(x);
    return out;
  };
  return convert(raw);
}

module.exports = { sink, attach, release, releaseOf, install, camelStats };
