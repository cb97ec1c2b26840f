'use strict';
// The event loop is never blocked, a pending call keeps the process alive, an idle or
// disconnected client does not, and libuv's worker pool stays free.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Client, KimberliteError } = require('..');
const { freeze, startServer, blackHole, runNode, waitFor } = require('./helpers');

const CHILD = path.join(__dirname, 'fixtures', 'child.js');

async function ticksWhile(promise) {
  let ticks = 0;
  let settled = false;
  const timer = setInterval(() => ticks++, 10);
  const outcome = promise.then((v) => ({ v }), (e) => ({ e }));
  outcome.then(() => (settled = true));
  try {
    // The loop must turn while the call waits: seen as ticks before it settles.
    await waitFor(() => ticks >= 5 || settled, { timeoutMs: 60000, what: 'timer ticks' });
    return { ticksBeforeSettle: settled ? 0 : ticks, outcome: await outcome };
  } finally {
    clearInterval(timer);
  }
}

test('a connect waiting on a black hole does not block the event loop', async (t) => {
  const hole = await blackHole(t);
  const { ticksBeforeSettle, outcome } = await ticksWhile(Client.connect({ addresses: [hole.addr], tenantId: 1n, connectTimeoutMs: 3000 }));
  assert.ok(ticksBeforeSettle >= 5, `only ${ticksBeforeSettle} ticks before the connect settled`);
  assert.ok(hole.accepted() >= 1 || outcome.e, 'the client reached the black hole');
  assert.ok(outcome.e instanceof KimberliteError, String(outcome.e));
  assert.ok(outcome.e.retryable, outcome.e.code);
});

test('a call waiting on a stopped server does not block the event loop', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, requestTimeoutMs: 3000, healthCheckPeriodMs: 0 });
  t.after(() => c.disconnect());
  await freeze(srv.proc.pid);
  t.after(() => {
    try {
      process.kill(srv.proc.pid, 'SIGCONT');
    } catch {} // already stopped by the server's own cleanup
  });
  const { ticksBeforeSettle, outcome } = await ticksWhile(c.ping());
  assert.ok(ticksBeforeSettle >= 5, `only ${ticksBeforeSettle} ticks before the ping settled`);
  assert.ok(outcome.e instanceof KimberliteError, String(outcome.e && outcome.e.stack));
  assert.equal(outcome.e.code, 'KMB_ERR_TIMEOUT');
  process.kill(srv.proc.pid, 'SIGCONT');
  await waitFor(() => c.ping().then(() => true, () => false), { what: 'the server to answer again' });
});

test('a pending call keeps the process alive until it settles', async (t) => {
  const hole = await blackHole(t);
  const p = runNode([CHILD, 'pending', hole.addr]);
  const { code } = await p.waitExit(60000);
  assert.equal(code, 0, p.err);
  assert.match(p.out, /started\nsettled KMB_ERR_/, 'the process waited for the result');
});

test('the process exits by itself after disconnect, and with an idle client', async (t) => {
  const srv = await startServer(t);
  for (const [mode, line] of [['exit', 'disconnected'], ['idle', 'idle']]) {
    const p = runNode([CHILD, mode, srv.addr]);
    const { code, signal } = await p.waitExit(30000);
    assert.equal(signal, null, p.err);
    assert.equal(code, 0, p.err);
    assert.ok(p.out.includes(line), p.out + p.err);
  }
});

test("calls do not use libuv's worker pool", async (t) => {
  const hole = await blackHole(t);
  const p = runNode([CHILD, 'threadpool', hole.addr], { UV_THREADPOOL_SIZE: '1' });
  const { code } = await p.waitExit(30000);
  assert.equal(code, 0, p.err);
  assert.match(p.out, /threadpool free, settled=0/);
});

test('disconnect closes every socket; a garbage-collected client is closed too', async (t) => {
  const srv = await startServer(t);
  const p = runNode(['--expose-gc', CHILD, 'sockets', srv.addr]);
  const { code } = await p.waitExit(60000);
  assert.equal(code, 0, p.out + p.err);
  assert.match(p.out, /disconnect closed\ngc closed/);
});

test('a worker terminated with a call in flight ends without waiting for it', async (t) => {
  const srv = await startServer(t);
  t.after(() => {
    try {
      process.kill(srv.proc.pid, 'SIGCONT');
    } catch {}
  });
  const p = runNode([CHILD, 'terminate', srv.addr, String(srv.proc.pid)]);
  t.after(() => p.kill());
  // The call's request timeout is 120 s: a teardown that waited for it would miss this deadline.
  const { code } = await p.waitExit(30000);
  assert.equal(code, 0, p.out + p.err);
  assert.match(p.out, /terminated/);
});
