'use strict';
// More _async calls pending on one client than the library accepts (KMB_MAX_PENDING_ASYNC):
// the excess rejects at once with a retryable KMB_ERR_BUSY, the rest complete.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, KimberliteError } = require('..');
const { freeze, startServer } = require('./helpers');

const MAX_PENDING = 65536; // KMB_MAX_PENDING_ASYNC

test('calls beyond the pending limit reject with KMB_ERR_BUSY; the others complete', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, requestTimeoutMs: 120000, healthCheckPeriodMs: 0 });
  t.after(() => c.disconnect());
  await c.ping();
  await freeze(srv.proc.pid); // nothing completes until the server runs again
  const calls = Array.from({ length: MAX_PENDING + 10 }, () => c.ping().then(() => 'ok', (e) => e));
  const busy = await Promise.race([
    Promise.all(calls.slice(MAX_PENDING)),
    new Promise((r) => setImmediate(() => r(null))),
  ]);
  process.kill(srv.proc.pid, 'SIGCONT');
  assert.ok(busy, 'the calls past the limit were refused at once');
  for (const e of busy) {
    assert.ok(e instanceof KimberliteError, String(e));
    assert.equal(e.code, 'KMB_ERR_BUSY');
    assert.equal(e.retryable, true);
  }
  const results = await Promise.all(calls.slice(0, MAX_PENDING));
  const failed = results.filter((r) => r !== 'ok');
  assert.equal(failed.length, 0, String(failed[0]));
  await c.ping();
});
