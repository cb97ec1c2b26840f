'use strict';
// Every method of the Client against a real server, and every error the library reports.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, DataClass, KimberliteError, libraryVersion } = require('..');
const { startServer, deadAddress, runNode } = require('./helpers');

const uniq = (p) => `${p}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

test('every method against one server', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, requestTimeoutMs: 10000 });
  t.after(() => c.disconnect());

  const name = uniq('api');
  const id = await c.createStream(name, DataClass.NonPHI);
  assert.equal(typeof id, 'bigint');
  assert.equal(await c.createStream(name, DataClass.NonPHI), id, 'createStream is idempotent by name');
  assert.notEqual(await c.createStream(uniq('other'), DataClass.PHI), id);

  assert.equal(await c.streamLength(id), 0n);
  assert.equal(await c.append(id, [Buffer.from('a'), new Uint8Array([1, 2, 3])]), 0n);
  assert.equal(await c.append(id, [Buffer.alloc(0)]), 2n, 'an empty event is an event');
  assert.equal(await c.append(id, [Buffer.from('d')], { expectedOffset: 3n }), 3n);
  // A Buffer that is a view into a bigger ArrayBuffer sends only its own bytes.
  const big = Buffer.from('xxHELLOxx');
  assert.equal(await c.append(id, [big.subarray(2, 7)]), 4n);
  assert.equal(await c.streamLength(id), 5n);

  const r = await c.read(id, { fromOffset: 0n, maxBytes: 1 << 20 });
  assert.deepEqual(r.events.map((e) => e.offset), [0n, 1n, 2n, 3n, 4n]);
  assert.deepEqual(r.events.map((e) => e.data.toString('latin1')), ['a', '\x01\x02\x03', '', 'd', 'HELLO']);
  assert.ok(Buffer.isBuffer(r.events[0].data));
  assert.equal(r.nextOffset, 5n);

  const tail = await c.read(id, { fromOffset: 5n });
  assert.deepEqual(tail.events, []);
  assert.equal(tail.nextOffset, 5n);
  assert.equal(tail.hasMore, false);

  const small = await c.read(id, { fromOffset: 1n, maxBytes: 1n });
  assert.ok(small.events.length >= 1);
  assert.equal(small.events[0].offset, 1n);

  const seen = [];
  for await (const e of c.readAll(id, { maxBytes: 1 })) seen.push(e.offset);
  assert.deepEqual(seen, [0n, 1n, 2n, 3n, 4n], 'readAll pages through the whole stream');
  const fromThree = [];
  for await (const e of c.readAll(id, { fromOffset: 3n })) fromThree.push(e.data.toString());
  assert.deepEqual(fromThree, ['d', 'HELLO']);

  assert.equal(await c.ping(), undefined);
  assert.equal(await c.sync(), undefined);
  const info = await c.serverInfo();
  assert.equal(info.protocolVersion, 5);
  assert.equal(typeof info.buildVersion, 'string');
  assert.ok(Array.isArray(info.capabilities));
  assert.equal(typeof info.uptimeSecs, 'bigint');
  assert.equal(info.clusterMode, 'standalone');

  const stats = c.stats();
  assert.equal(stats.nodes.length, 1);
  assert.equal(stats.nodes[0].address, srv.addr);
  assert.ok(stats.operations.append >= 4, JSON.stringify(stats.operations));

  assert.match(libraryVersion(), /^\d+\.\d+\.\d+/);
});

test('many appends in flight at once all land, in one stream, without duplicates', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const id = await c.createStream(uniq('many'), DataClass.Public);
  const n = 500;
  const offsets = await Promise.all(Array.from({ length: n }, (_, i) => c.append(id, [Buffer.from(`e${i}`)])));
  assert.equal(new Set(offsets.map(String)).size, n);
  const got = [];
  for await (const e of c.readAll(id)) got.push(e.data.toString());
  assert.equal(got.length, n);
  assert.deepEqual(new Set(got), new Set(Array.from({ length: n }, (_, i) => `e${i}`)));
  for (let i = 0; i < n; i++) assert.equal(got[Number(offsets[i])], `e${i}`, 'each append resolved to its own offset');
});

test('server errors reject with KimberliteError carrying code, server code and request id', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());

  const missing = await c.streamLength(987654321n).then(() => null, (e) => e);
  assert.ok(missing instanceof KimberliteError, String(missing));
  assert.ok(missing instanceof Error);
  assert.equal(missing.name, 'KimberliteError');
  assert.equal(missing.code, 'KMB_ERR_STREAM_NOT_FOUND');
  assert.equal(missing.serverCode, 5);
  assert.equal(typeof missing.requestId, 'bigint');
  assert.equal(missing.retryable, false);
  assert.match(missing.message, /stream not found/i);
  assert.ok(missing.stack.includes('KimberliteError'));

  await assert.rejects(c.append(987654321n, [Buffer.from('x')]), { name: 'KimberliteError', code: 'KMB_ERR_STREAM_NOT_FOUND' });
  // Stream ids carry their tenant: another tenant's stream is not found, a missing one of ours is empty.
  await assert.rejects(c.read(987654321n), { name: 'KimberliteError', code: 'KMB_ERR_STREAM_NOT_FOUND' });
  const none = await c.read((1n << 32n) + 987654n);
  assert.deepEqual([none, none.events, none.nextOffset, none.hasMore], [[], [], 0n, false]);

  const id = await c.createStream(uniq('mismatch'), DataClass.PII);
  await c.append(id, [Buffer.from('one')]);
  await assert.rejects(c.append(id, [Buffer.from('two')], { expectedOffset: 0n }), (e) => {
    assert.ok(e instanceof KimberliteError);
    assert.equal(e.code, 'KMB_ERR_OFFSET_MISMATCH');
    assert.equal(e.serverCode, 16);
    return true;
  });
  assert.equal(await c.streamLength(id), 1n, 'a refused append changed nothing');
});

test('authentication: the right token works, a wrong one is KMB_ERR_AUTHENTICATION_FAILED', async (t) => {
  const srv = await startServer(t, ['--auth-token', 'token=1']);
  const ok = await Client.connect({ addresses: [srv.addr], tenantId: 1n, authToken: 'token' });
  await ok.ping();
  await ok.disconnect();
  await assert.rejects(Client.connect({ addresses: [srv.addr], tenantId: 1n, authToken: 'wrong', connectTimeoutMs: 3000 }), (e) => {
    assert.ok(e instanceof KimberliteError, String(e));
    assert.equal(e.code, 'KMB_ERR_AUTHENTICATION_FAILED');
    assert.equal(e.serverCode, 3);
    assert.equal(e.retryable, false);
    return true;
  });
});

test('connect to nothing: a retryable connection error naming the address', async () => {
  const dead = await deadAddress();
  await assert.rejects(Client.connect({ addresses: [dead], tenantId: 1n, connectTimeoutMs: 1000 }), (e) => {
    assert.ok(e instanceof KimberliteError, String(e));
    assert.ok(['KMB_ERR_CONNECTION', 'KMB_ERR_CLUSTER_UNAVAILABLE', 'KMB_ERR_TIMEOUT'].includes(e.code), e.code);
    assert.equal(e.retryable, true);
    assert.ok(e.message.includes(dead), e.message);
    return true;
  });
});

test('a library-level refusal of an option conflict names the option', async (t) => {
  const srv = await startServer(t);
  await assert.rejects(
    Client.connect({ addresses: [srv.addr], retryInitialBackoffMs: 5000, retryMaxBackoffMs: 10 }),
    (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_INVALID_ARGUMENT' && /backoff/i.test(e.message),
  );
});

test('every connect option is accepted', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({
    addresses: srv.addr,
    tenantId: 2n,
    authToken: '',
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    minIdleConnsPerNode: 0,
    maxConnsPerNode: 2,
    maxInFlightPerConn: 16,
    maxConnLifetimeMs: 0,
    maxConnLifetimeJitterMs: 0,
    maxConnIdleTimeMs: 1000,
    healthCheckPeriodMs: 0,
    keepAliveMs: false,
    maxDialsPerNode: 1,
    retryMaxAttempts: 3,
    retryInitialBackoffMs: 5,
    retryMaxBackoffMs: 50,
    retryBudgetRatio: 0.5,
    retryBudgetMinPerSec: 5,
    maxRedirects: 2,
    readFrom: 'anyHealthy',
    appendBatchMaxEvents: 10,
    appendBatchMaxBytes: 65536,
  });
  const id = await c.createStream(uniq('opts'), DataClass.Confidential);
  assert.equal(await c.append(id, [Buffer.from('x')]), 0n);
  await c.disconnect();
});

test('disconnect really closes, is idempotent, and later calls reject with KMB_ERR_CLOSED', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  const id = await c.createStream(uniq('close'), DataClass.NonPHI);
  assert.equal(c.closed, false);
  const inFlight = Array.from({ length: 50 }, (_, i) => c.append(id, [Buffer.from(`x${i}`)]).then(() => 'ok', (e) => e.code));
  const p1 = c.disconnect();
  const p2 = c.disconnect();
  assert.equal(p1, p2, 'the same promise');
  await p1;
  assert.equal(c.closed, true);
  for (const r of await Promise.all(inFlight)) assert.ok(r === 'ok' || r === 'KMB_ERR_CLOSED', r);
  for (const call of [() => c.ping(), () => c.append(id, [Buffer.from('late')]), () => c.read(id), () => c.streamLength(id),
    () => c.createStream('x', DataClass.PHI), () => c.sync(), () => c.serverInfo()]) {
    await assert.rejects(call(), (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_CLOSED');
  }
  assert.throws(() => c.stats(), (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_CLOSED');
  await c.disconnect();
  // The server saw the client's connections go away: a fresh client still works.
  const c2 = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  assert.ok((await c2.streamLength(id)) >= 0n);
  await c2.disconnect();
});

test('ES module import works (named and default)', async () => {
  const src = `
    import { Client, DataClass, KimberliteError } from '@kimberlite/client';
    import pkg from '@kimberlite/client';
    if (typeof Client.connect !== 'function') throw new Error('no Client');
    if (DataClass.NonPHI !== 'NonPHI') throw new Error('no DataClass');
    if (pkg.Client !== Client || pkg.KimberliteError !== KimberliteError) throw new Error('two copies');
    console.log('esm ok');
  `;
  // Resolve the package by its name, from a folder that has it in node_modules.
  const fs = require('node:fs');
  const path = require('node:path');
  const { tmpDir, PKG } = require('./helpers');
  const dir = tmpDir('kmb-esm-');
  fs.mkdirSync(path.join(dir, 'node_modules', '@kimberlite'), { recursive: true });
  fs.symlinkSync(PKG, path.join(dir, 'node_modules', '@kimberlite', 'client'));
  fs.writeFileSync(path.join(dir, 'main.mjs'), src);
  const p = runNode([path.join(dir, 'main.mjs')], {}, { cwd: dir });
  const { code } = await p.waitExit();
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, p.err);
  assert.match(p.out, /esm ok/);
});
