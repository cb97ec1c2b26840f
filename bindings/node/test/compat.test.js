'use strict';
// The official SDK's stream/event/pool/retry/error surface (its 0.8.0 public names, shapes and
// values; SQL, admin and subscriptions aside) exists here, and a program written in its style
// (test/compat/program.ts, compiled by run-tests.sh with tsc --strict) runs against a 3-node
// cluster through a leader kill.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const k = require('..');
const { startCluster, startServer, waitFor, PKG } = require('./helpers');

const ERROR_CLASSES = [
  'ConnectionError', 'ResponseTooLargeError', 'TimeoutError', 'AuthenticationError', 'StreamNotFoundError',
  'OffsetMismatchError', 'RateLimitedError', 'NotLeaderError', 'UniqueConstraintViolationError', 'ServerError',
  'InternalError', 'PermissionDeniedError', 'ClusterUnavailableError',
];

test('every name of the surface is exported, by require and by import', async () => {
  for (const name of ['Client', 'Pool', 'PooledClient', 'TenantPool', 'withRetry', 'DEFAULT_RETRY', 'DataClass', 'Placement', 'KimberliteError', ...ERROR_CLASSES]) {
    assert.ok(k[name] !== undefined, name);
  }
  const esm = await import(path.join(PKG, 'index.mjs'));
  for (const name of ['Pool', 'withRetry', 'Placement', ...ERROR_CLASSES]) assert.equal(esm[name], k[name], name);
});

test('DataClass, Placement and DEFAULT_RETRY values', () => {
  assert.deepEqual({ ...k.DataClass }, {
    PHI: 'PHI', Deidentified: 'Deidentified', PII: 'PII', Sensitive: 'Sensitive', PCI: 'PCI', Financial: 'Financial',
    Confidential: 'Confidential', Public: 'Public', NonPHI: 'NonPHI',
  });
  assert.deepEqual({ ...k.Placement }, { Global: 'Global', UsEast1: 'UsEast1', ApSoutheast2: 'ApSoutheast2' });
  assert.deepEqual({ ...k.DEFAULT_RETRY }, { maxAttempts: 4, baseDelayMs: 50, capDelayMs: 800 });
});

test('client methods take their positional arguments', () => {
  const p = k.Client.prototype;
  for (const m of ['createStream', 'createStreamWithPlacement', 'append', 'read', 'readAll', 'streamLength', 'sync', 'disconnect', 'reconnect']) {
    assert.equal(typeof p[m], 'function', m);
  }
  assert.equal(p.createStreamWithPlacement.length, 3);
  assert.equal(p.append.length, 3);
  for (const g of ['tenantId', 'lastRequestId', 'reconnectCount']) {
    assert.equal(typeof Object.getOwnPropertyDescriptor(p, g).get, 'function', g);
  }
  assert.equal(typeof k.Pool.create, 'function');
  for (const m of ['acquire', 'withClient', 'stats', 'shutdown']) assert.equal(typeof k.Pool.prototype[m], 'function', m);
  for (const m of ['release', 'discard', 'createStream', 'createStreamWithPlacement', 'append', 'read', 'sync']) {
    assert.equal(typeof k.PooledClient.prototype[m], 'function', m);
  }
});

test('error classes: hierarchy, their constructor form, isRetryable', () => {
  for (const name of ERROR_CLASSES) {
    const e = new k[name]('boom');
    assert.ok(e instanceof k.KimberliteError && e instanceof Error, name);
    assert.equal(e.message, 'boom');
  }
  assert.ok(new k.ResponseTooLargeError('x') instanceof k.ConnectionError);
  const t = new k.KimberliteError('slow', 'Timeout');
  assert.equal(t.kind, 'Timeout');
  assert.equal(t.code, 'KMB_ERR_TIMEOUT');
  assert.equal(new k.KimberliteError('x').kind, 'Unknown');
  const retryable = (code) => new k.KimberliteError('x', { code, retryable: true }).isRetryable();
  assert.equal(retryable('KMB_ERR_NOT_LEADER'), true);
  assert.equal(retryable('KMB_ERR_OUTCOME_UNKNOWN'), false, 'an unknown outcome is never retried');
  assert.equal(new k.KimberliteError('x', { code: 'KMB_ERR_STREAM_NOT_FOUND' }).isRetryable(), false);
});

test('withRetry retries what is retryable, and never an unknown outcome', async () => {
  let n = 0;
  const flaky = async () => {
    n++;
    if (n < 3) throw new k.NotLeaderError('not the leader', { code: 'KMB_ERR_NOT_LEADER', retryable: true });
    return 'ok';
  };
  assert.equal(await k.withRetry(flaky, { maxAttempts: 4, baseDelayMs: 1, capDelayMs: 2 }), 'ok');
  assert.equal(n, 3);
  for (const err of [
    new k.OutcomeUnknownError('lost', { code: 'KMB_ERR_OUTCOME_UNKNOWN', retryable: true }),
    new k.StreamNotFoundError('nope', { code: 'KMB_ERR_STREAM_NOT_FOUND' }),
    new TypeError('bad'),
  ]) {
    let calls = 0;
    await assert.rejects(k.withRetry(async () => { calls++; throw err; }, { maxAttempts: 4, baseDelayMs: 1, capDelayMs: 1 }), (e) => e === err);
    assert.equal(calls, 1, String(err));
  }
  let m = 0;
  await assert.rejects(k.withRetry(async () => { m++; throw new k.TimeoutError('t', { code: 'KMB_ERR_TIMEOUT', retryable: true }); }, { maxAttempts: 2, baseDelayMs: 1, capDelayMs: 1 }), k.TimeoutError);
  assert.equal(m, 2);
  await assert.rejects(k.withRetry(flaky, { maxAttempts: 0, baseDelayMs: 1, capDelayMs: 1 }), RangeError);
});

test('against a server: read arrays, positional offsets, error classes, Pool', async (t) => {
  const srv = await startServer(t);
  const c = await k.Client.connect({ addresses: srv.addr, tenantId: 1n, readTimeoutMs: 5000, autoReconnect: false, bufferSizeBytes: 1024 });
  t.after(() => c.disconnect());
  assert.equal(c.tenantId, 1n);
  const id = await c.createStream(`compat-${process.pid}`, k.DataClass.NonPHI);
  assert.equal(await c.append(id, [Buffer.from('a')], 0n), 0n);
  assert.equal(await c.append(id, [Buffer.from('b')], { expectedOffset: 1n }), 1n);
  assert.equal(await c.append(id, [Buffer.from('c')]), 2n);
  await assert.rejects(c.append(id, [Buffer.from('d')], 0n), (e) => e instanceof k.OffsetMismatchError && e.code === 'KMB_ERR_OFFSET_MISMATCH' && !e.isRetryable());
  const r = await c.read(id);
  assert.ok(Array.isArray(r));
  assert.equal(r.length, 3);
  assert.equal(r[2].data.toString(), 'c');
  assert.deepEqual([r.nextOffset, r.hasMore, r.events === r], [3n, true, true]);
  assert.deepEqual(r.map((e) => e.offset), [0n, 1n, 2n]);
  const paged = [];
  for await (const e of c.readAll(id, { fromOffset: 1n, batchSize: 1 })) paged.push(e.data.toString());
  assert.deepEqual(paged, ['b', 'c']);
  await assert.rejects(c.read(987654321n), k.StreamNotFoundError);
  await assert.rejects(c.createStreamWithPlacement('x', k.DataClass.PHI, k.Placement.UsEast1), RangeError);
  await assert.rejects(c.append(id, []), /Cannot append empty event list/);
  await c.reconnect();
  assert.equal(c.reconnectCount, 1);

  const pool = await k.Pool.create({ address: srv.addr, tenantId: 1n, maxSize: 2, acquireTimeoutMs: 50 });
  assert.deepEqual(pool.stats(), { maxSize: 2, open: 0, idle: 2, inUse: 0, shutdown: false });
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.deepEqual(pool.stats(), { maxSize: 2, open: 1, idle: 0, inUse: 2, shutdown: false });
  await assert.rejects(pool.acquire(), k.TimeoutError);
  const waiting = pool.acquire();
  a.release();
  a.release();
  const w = await waiting; // the freed slot went to the waiter
  assert.equal((await w.read(id)).length, 3);
  await assert.rejects(a.read(id), /PooledClient has been released/);
  w.discard();
  b.release();
  assert.equal(await pool.withClient((pc) => pc.append(id, [Buffer.from('e')], 3n)), 3n);
  await assert.rejects(pool.withClient((pc) => pc.append(id, [Buffer.from('f')], 3n)), k.OffsetMismatchError);
  assert.equal(pool.stats().inUse, 0);
  await pool.shutdown();
  await pool.shutdown();
  await assert.rejects(pool.acquire(), /Pool is closed/);
  await assert.rejects(k.Pool.create({ address: srv.addr, tenantId: 1n, maxSize: 0 }), /maxSize must be > 0/);
  await assert.rejects(k.Pool.create({ address: srv.addr, tenantID: 1n }), /Misspelled option "tenantID"/);
});

test('a program in the official SDK style runs through a leader kill', async (t) => {
  const program = require(path.join(PKG, 'build', 'compat', 'program.js'));
  const cluster = await startCluster(t, 3);
  const addresses = cluster.addresses();
  const id = await program.firstSteps(addresses, 1n, `compat-program-${process.pid}`);
  let killed = null;
  const { acked, unknown } = await program.appendsThroughFailover(addresses, 1n, id, 60, () => {
    killed = cluster.leader();
    process.kill(cluster.nodes()[killed.id].pid, 'SIGKILL');
  });
  assert.ok(killed, 'the leader was never killed');
  await waitFor(() => { const l = cluster.leader(); return l && l.id !== killed.id; }, { timeoutMs: 60000, what: 'a new leader' });
  assert.ok(acked.length >= 50, `${acked.length} acknowledged, unknown: ${unknown}`);
  const data = await program.readEverything(addresses, 1n, id);
  const counts = new Map();
  for (const d of data) counts.set(d, (counts.get(d) || 0) + 1);
  assert.deepEqual(data.slice(0, 2), ['order-0', 'order-1']);
  for (const p of acked) assert.equal(counts.get(p), 1, `acknowledged ${p} is there ${counts.get(p) || 0} times`);
  for (const p of unknown) assert.ok((counts.get(p) || 0) <= 1, `${p} written twice`);
  const known = new Set([...acked, ...unknown, 'order-0', 'order-1']);
  for (const d of counts.keys()) assert.ok(known.has(d), `an event nobody appended: ${d}`);
});

test('TenantPool: one client per tenant, LRU and idle eviction, evictions wait for withClient', async (t) => {
  const srv = await startServer(t);
  let clock = 0;
  const made = [];
  const pool = new k.TenantPool({
    factory: async (tid) => { made.push(tid); return k.Client.connect({ addresses: [srv.addr], tenantId: tid }); },
    maxSize: 2,
    idleTimeoutMs: 1000,
    nowMs: () => clock,
  });
  t.after(() => pool.close());
  const [a, a2] = await Promise.all([pool.acquire(1n), pool.acquire(1n)]);
  assert.equal(a, a2, 'concurrent acquires share one factory call');
  assert.equal(a.tenantId, 1n);
  const b = await pool.acquire(2n);
  await pool.acquire(1n);
  const closedInside = await pool.withClient(1n, async (c) => {
    await pool.acquire(3n); // evicts tenant 2, the least recently used
    await pool.acquire(4n); // evicts tenant 1, which this call uses: closed afterwards
    await c.ping();
    return c.closed;
  });
  assert.equal(closedInside, false);
  assert.ok(a.closed && b.closed);
  assert.deepEqual(made, [1n, 2n, 3n, 4n]);
  assert.deepEqual(pool.stats(), { size: 2, hits: 3, misses: 4, evictions: 2, idleEvictions: 0 });
  clock = 5000;
  await pool.acquire(5n);
  assert.equal(pool.stats().idleEvictions, 2);
  assert.throws(() => new k.TenantPool({ factory: async () => null, maxSize: 0 }), RangeError);
});
