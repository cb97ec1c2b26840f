'use strict';
// Bad arguments: TypeError / RangeError / KimberliteError with a message naming the argument,
// never a crash, through index.js and straight into the addon (going around index.js).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Client, DataClass, KimberliteError } = require('..');
const { startServer, PKG } = require('./helpers');

const isErr = (Cls, re) => (e) => {
  assert.ok(e instanceof Cls, `${e && e.constructor && e.constructor.name}: ${e && e.message}`);
  if (re) assert.match(e.message, re);
  return true;
};

test('Client.connect option checks', async () => {
  const base = { addresses: ['127.0.0.1:1'], tenantId: 1n };
  const cases = [
    [undefined, TypeError, /options must be an object/],
    [null, TypeError, /options must be an object/],
    ['127.0.0.1:1', TypeError, /options must be an object/],
    [{ tenantId: 1n }, TypeError, /"addresses" is required/],
    [{ ...base, addresses: [] }, RangeError, /"addresses" must not be empty/],
    [{ ...base, addresses: 5432 }, TypeError, /"addresses"/],
    [{ ...base, addresses: [5432] }, TypeError, /"addresses\[0\]"/],
    [{ ...base, addresses: ['a\0b:1'] }, TypeError, /"addresses\[0\]"/],
    [{ addresses: base.addresses, tenantID: 1n }, TypeError, /Misspelled option "tenantID" should be "tenantId"/],
    [{ ...base, tenant_id: 1n }, TypeError, /Misspelled option "tenant_id" should be "tenantId"/],
    [{ ...base, auth_token: 'x' }, TypeError, /should be "authToken"/],
    [{ ...base, connectTimeoutMS: 5 }, TypeError, /should be "connectTimeoutMs"/],
    [{ ...base, bogus: 1 }, TypeError, /Unknown option "bogus"/],
    [{ ...base, tenantId: 1 }, TypeError, /"tenantId" must be a bigint.*1n/],
    [{ ...base, tenantId: -1n }, RangeError, /"tenantId"/],
    [{ ...base, tenantId: 2n ** 64n }, RangeError, /"tenantId"/],
    [{ ...base, authToken: 5 }, TypeError, /"authToken" must be a string/],
    [{ ...base, authToken: 'a\0b' }, TypeError, /"authToken"/],
    [{ ...base, connectTimeoutMs: 0 }, RangeError, /"connectTimeoutMs"/],
    [{ ...base, connectTimeoutMs: NaN }, RangeError, /"connectTimeoutMs"/],
    [{ ...base, requestTimeoutMs: -5 }, RangeError, /"requestTimeoutMs"/],
    [{ ...base, requestTimeoutMs: 1.5 }, RangeError, /"requestTimeoutMs"/],
    [{ ...base, requestTimeoutMs: '100' }, TypeError, /"requestTimeoutMs" must be a number/],
    [{ ...base, maxConnsPerNode: 0 }, RangeError, /"maxConnsPerNode"/],
    [{ ...base, maxConnsPerNode: 2 ** 32 }, RangeError, /"maxConnsPerNode"/],
    [{ ...base, minIdleConnsPerNode: 5, maxConnsPerNode: 2 }, RangeError, /"minIdleConnsPerNode"/],
    [{ ...base, retryBudgetRatio: NaN }, RangeError, /"retryBudgetRatio"/],
    [{ ...base, retryBudgetRatio: 11 }, RangeError, /"retryBudgetRatio"/],
    [{ ...base, readFrom: 'followers' }, TypeError, /"readFrom"/],
    [{ ...base, keepAliveMs: true }, TypeError, /"keepAliveMs"/],
    [{ ...base, healthCheckPeriodMs: Infinity }, RangeError, /"healthCheckPeriodMs"/],
  ];
  for (const [opts, Cls, re] of cases) {
    await assert.rejects(Client.connect(opts), isErr(Cls, re), JSON.stringify(opts, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }
  assert.throws(() => new Client(), isErr(TypeError, /Client.connect/));
});

test('method argument checks', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const id = await c.createStream(`args-${process.pid}`, DataClass.NonPHI);
  const buf = Buffer.from('x');
  const cases = [
    [() => c.createStream(5, DataClass.PHI), TypeError, /"name"/],
    [() => c.createStream('', DataClass.PHI), RangeError, /"name"/],
    [() => c.createStream('a\0b', DataClass.PHI), TypeError, /"name"/],
    [() => c.createStream('n'), TypeError, /"dataClass"/],
    [() => c.createStream('n', 'phi'), RangeError, /"dataClass"/],
    [() => c.createStream('n', {}), TypeError, /"dataClass"/],
    [() => c.createStream('n', 8), RangeError, /"dataClass"/],
    [() => c.createStream('n', -1), RangeError, /"dataClass"/],
    [() => c.createStream('n', NaN), RangeError, /"dataClass"/],
    [() => c.append(1, [buf]), TypeError, /"streamId" must be a bigint/],
    [() => c.append(Number(id), [buf]), TypeError, /"streamId" must be a bigint/],
    [() => c.append(-1n, [buf]), RangeError, /"streamId"/],
    [() => c.append(2n ** 64n, [buf]), RangeError, /"streamId"/],
    [() => c.append(id, []), RangeError, /"events" must not be empty/],
    [() => c.append(id, buf), TypeError, /"events" must be an array/],
    [() => c.append(id, ['text']), TypeError, /"events\[0\]".*Buffer\.from/],
    [() => c.append(id, [buf, 7]), TypeError, /"events\[1\]"/],
    [() => c.append(id, [buf, null]), TypeError, /"events\[1\]"/],
    [() => c.append(id, [new Uint16Array(2)]), TypeError, /"events\[0\]"/],
    [() => c.append(id, [Buffer.alloc(16 * 1024 * 1024 + 1)]), RangeError, /largest batch/],
    [() => c.append(id, [Buffer.alloc(9 * 1024 * 1024), Buffer.alloc(9 * 1024 * 1024)]), RangeError, /largest batch/],
    [() => c.append(id, [buf], { expectedOffset: 0 }), TypeError, /"expectedOffset" must be a bigint/],
    [() => c.append(id, [buf], { expectedOffset: -1n }), RangeError, /"expectedOffset"/],
    [() => c.append(id, [buf], { expected_offset: 1n }), TypeError, /should be "expectedOffset"/],
    [() => c.append(id, [buf], 5), TypeError, /append options/],
    [() => c.read(1), TypeError, /"streamId"/],
    [() => c.read(id, { fromOffset: 0 }), TypeError, /"fromOffset" must be a bigint/],
    [() => c.read(id, { fromOffset: -1n }), RangeError, /"fromOffset"/],
    [() => c.read(id, { maxBytes: -1 }), RangeError, /"maxBytes"/],
    [() => c.read(id, { maxBytes: NaN }), RangeError, /"maxBytes"/],
    [() => c.read(id, { maxBytes: '1' }), TypeError, /"maxBytes"/],
    [() => c.read(id, { from_offset: 0n }), TypeError, /should be "fromOffset"/],
    [() => c.streamLength('1'), TypeError, /"streamId"/],
    [() => c.readAll(1).next(), TypeError, /"streamId"/],
    [() => Client.prototype.ping.call({}), TypeError, /not a Client/],
  ];
  for (const [call, Cls, re] of cases) await assert.rejects(call(), isErr(Cls, re), call.toString());
  assert.throws(() => Client.prototype.stats.call(null), isErr(TypeError, /not a Client/));
  // Oversized batch through the library's own check: the bytes fit in 16 MiB, their encoding
  // (a length prefix per event) does not.
  const ev = Buffer.alloc(127);
  const n = Math.floor((16 * 1024 * 1024) / 127);
  await assert.rejects(c.append(id, Array.from({ length: n }, () => ev)), (e) => {
    assert.ok(e instanceof KimberliteError, String(e));
    assert.equal(e.code, 'KMB_ERR_INVALID_ARGUMENT');
    return true;
  });
  // The client still works after all that.
  assert.equal(await c.append(id, [buf]), 0n);
});

test('the addon itself re-checks every argument and never crashes', async (t) => {
  const srv = await startServer(t);
  const addon = require(path.join(PKG, 'build', 'kimberlite.node'));
  addon.init(KimberliteError); // a second init in this environment replaces the class: harmless
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const sym = Object.getOwnPropertySymbols(c).find((s) => String(s).includes('handle'));
  const h = c[sym];
  const id = await c.createStream(`addon-${process.pid}`, DataClass.NonPHI);
  const bad = [undefined, null, 0, 1n, 'x', {}, [], () => {}, Symbol('s'), new Uint8Array(4)];

  const expectError = async (fn, label) => {
    let r;
    try {
      r = fn();
    } catch (e) {
      assert.ok(e instanceof TypeError || e instanceof RangeError || e instanceof KimberliteError, `${label}: ${e}`);
      return;
    }
    await assert.rejects(Promise.resolve(r), (e) => e instanceof TypeError || e instanceof RangeError || e instanceof KimberliteError, label);
  };
  for (const b of bad) {
    for (const name of ['close', 'ping', 'sync', 'serverInfo', 'stats']) await expectError(() => addon[name](b), `${name}(${String(b)})`);
    await expectError(() => addon.createStream(h, b, b), `createStream(h, ${String(b)})`);
    await expectError(() => addon.createStream(b, 'n', 0), `createStream(${String(b)})`);
    await expectError(() => addon.append(h, b, [Buffer.from('x')]), `append(h, ${String(b)})`);
    await expectError(() => addon.append(h, id, b), `append(h, id, ${String(b)})`);
    if (!(b instanceof Uint8Array)) await expectError(() => addon.append(h, id, [b]), `append(h, id, [${String(b)}])`);
    if (typeof b !== 'bigint') {
      await expectError(() => addon.read(h, b, 0n, 0n), `read(h, ${String(b)})`);
      await expectError(() => addon.read(h, id, b, 0n), `read(h, id, ${String(b)})`);
      await expectError(() => addon.read(h, id, 0n, b), `read(h, id, 0n, ${String(b)})`);
      await expectError(() => addon.connect([srv.addr], b, '', {}), `connect(addrs, ${String(b)})`);
    }
    await expectError(() => addon.streamLength(h, b), `streamLength(h, ${String(b)})`);
    await expectError(() => addon.connect(b, 1n, '', {}), `connect(${String(b)})`);
    if (typeof b !== 'string') await expectError(() => addon.connect([srv.addr], 1n, b, {}), `connect(.., token ${String(b)})`);
    if (b !== undefined && typeof b !== 'bigint') await expectError(() => addon.connect([srv.addr], 1n, '', { connectTimeoutMs: b }), `connect(.., timeout ${String(b)})`);
  }
  await expectError(() => addon.init(5), 'init(5)');
  await expectError(() => addon.connect(), 'connect()');
  await expectError(() => addon.append(h), 'append(h)');
  await expectError(() => addon.append(h, id, []), 'append(h, id, [])');
  await expectError(() => addon.append(h, -1n, [Buffer.from('x')]), 'append(h, -1n)');
  await expectError(() => addon.append(h, id, [Buffer.from('x')], 1), 'append(.., expected 1)');
  await expectError(() => addon.createStream(h, 'n', 9), 'createStream(h, n, 9)');
  await expectError(() => addon.createStream(h, 'a\0b', 0), 'createStream(h, a\\0b, 0)');
  await expectError(() => addon.connect(['not an address'], 1n, '', {}), 'connect(bad address)');
  await expectError(() => addon.connect([srv.addr], 1n, '', { retryBudgetRatio: NaN }), 'ratio NaN');
  await expectError(() => addon.connect([srv.addr], 1n, '', { keepAliveMs: -1n }), 'keepAlive -1n');
  await expectError(() => addon.connect([srv.addr], 1n, '', { readFrom: 7 }), 'readFrom 7');
  // The handle still works, and a stale handle after close is refused, not used.
  assert.equal(await addon.append(h, id, [Buffer.from('ok')]), 0n);
  const other = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  const h2 = other[sym];
  await other.disconnect();
  await assert.rejects(addon.ping(h2), (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_CLOSED');
  await addon.close(h2); // idempotent
});
