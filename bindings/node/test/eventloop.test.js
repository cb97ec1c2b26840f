'use strict';
// eventLoopWaitMicros: a lone quick call waits for its answer on the event-loop thread, and one
// that takes longer goes on in the background with the right answer.

const net = require('node:net');
const os = require('node:os');
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, DataClass } = require('..');
const { startServer, freeze, waitFor } = require('./helpers');

const uniq = (p) => `${p}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

async function streamOf(c, n) {
  const id = await c.createStream(uniq('loop'), DataClass.NonPHI);
  for (let i = 0; i < n; i++) await c.append(id, [Buffer.from(`event-${i}`)]);
  return id;
}

// readWhileFrozen freezes the server, starts a read of event 30 and runs whileHeld(its Promise);
// then the server runs again, and the read must return event-30.
async function readWhileFrozen(srv, c, id, whileHeld) {
  await freeze(srv.proc.pid);
  let resumed = false;
  try {
    const pending = c.read(id, { fromOffset: 30n, maxBytes: 1 });
    await whileHeld(pending);
    process.kill(srv.proc.pid, 'SIGCONT');
    resumed = true;
    const r = await pending;
    assert.deepEqual(r.events.map((e) => e.data.toString()), ['event-30']);
  } finally {
    if (!resumed) process.kill(srv.proc.pid, 'SIGCONT');
  }
}

async function readsEach(c, id, n) {
  for (let i = 0; i < n; i++) {
    const r = await c.read(id, { fromOffset: BigInt(i), maxBytes: 1 });
    assert.deepEqual(r.events.map((e) => e.data.toString()), [`event-${i}`]);
  }
}

test('lone reads wait on the loop, and a frozen server sends them to the background', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, eventLoopWaitMicros: 1000 });
  t.after(() => c.disconnect());
  const id = await streamOf(c, 30);
  await readsEach(c, id, 30);
  assert.equal(await c.streamLength(id), 30n);
  await c.ping();
  const waited = c.stats();
  assert.ok(waited.asyncWaits >= 16, `only ${waited.asyncWaits} of 32 lone calls waited on the loop`);
  assert.ok(waited.asyncWaitMisses <= waited.asyncWaits);

  // Calls in flight together never wait: 16 reads started at once, then awaited.
  const before = c.stats().asyncWaits;
  const all = await Promise.all(Array.from({ length: 16 }, (_, i) => c.read(id, { fromOffset: BigInt(i), maxBytes: 1 })));
  all.forEach((r, i) => assert.equal(r.events[0].data.toString(), `event-${i}`));
  assert.ok(c.stats().asyncWaits - before <= 1, 'a call started while others were in flight waited on the loop');

  // Appends never wait on the loop.
  const appendsBefore = c.stats().asyncWaits;
  await c.append(id, [Buffer.from('event-30')]);
  assert.equal(c.stats().asyncWaits, appendsBefore);

  // A server that stops answering: the read leaves the loop after its wait, and answers once
  // the server runs again. (A new client: no earlier miss makes it skip the wait.)
  const fresh = await Client.connect({ addresses: [srv.addr], tenantId: 1n, eventLoopWaitMicros: 1000 });
  t.after(() => fresh.disconnect());
  // On a loaded machine a ping can miss its wait too, and the next lone call then skips it:
  // ping until one waited and ended on the loop, so that the frozen read waits.
  for (let settled = false, tries = 0; !settled; tries++) {
    assert.ok(tries < 200, 'no ping ended within its wait on the loop');
    const s0 = fresh.stats();
    await fresh.ping();
    const s1 = fresh.stats();
    settled = s1.asyncWaits > s0.asyncWaits && s1.asyncWaitMisses === s0.asyncWaitMisses;
  }
  const missesBefore = fresh.stats().asyncWaitMisses;
  await readWhileFrozen(srv, fresh, id, () =>
    waitFor(() => fresh.stats().asyncWaitMisses > missesBefore, { what: 'the read to leave the loop' }));
  await readsEach(c, id, 31);
});

test('by default, and with eventLoopWaitMicros 0, no call waits on the loop; bad values are refused', async (t) => {
  const srv = await startServer(t);
  for (const opts of [{}, { eventLoopWaitMicros: 0 }]) {
    const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, ...opts });
    t.after(() => c.disconnect());
    const id = await streamOf(c, 10);
    await readsEach(c, id, 10);
    assert.equal(c.stats().asyncWaits, 0, `options ${JSON.stringify(opts)}`);
    assert.equal(c.stats().asyncWaitMisses, 0);
  }

  for (const bad of [-1, 1001, 1.5]) {
    await assert.rejects(Client.connect({ addresses: [srv.addr], eventLoopWaitMicros: bad }),
      { name: 'RangeError', message: /"eventLoopWaitMicros" must be an integer between 0 and 1000 \(microseconds\)/ });
  }
  await assert.rejects(Client.connect({ addresses: [srv.addr], eventLoopWaitMicros: '300' }),
    { name: 'TypeError', message: /"eventLoopWaitMicros" must be a number/ });
});

test('by default, lone quick calls answer on the loop without holding it, and a frozen server holds nothing', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const id = await streamOf(c, 30);
  const before = c.stats();
  await readsEach(c, id, 30);
  assert.equal(await c.streamLength(id), 30n);
  await c.ping();
  const info = await c.serverInfo();
  assert.equal(info.protocolVersion, 5);
  const after = c.stats();
  const taken = after.loopCalls - before.loopCalls;
  assert.ok(taken >= 24, `only ${taken} of 33 lone quick calls went through the event loop`);
  assert.ok(after.loopSettled - before.loopSettled >= taken - 3, 'loop calls were handed off instead of answered on the loop');
  assert.equal(after.asyncWaits, 0, 'a loop call waited on the loop');

  // A burst: every read gets its own event once.
  const all = await Promise.all(Array.from({ length: 16 }, (_, i) => c.read(id, { fromOffset: BigInt(i), maxBytes: 1 })));
  all.forEach((r, i) => assert.deepEqual(r.events.map((e) => e.data.toString()), [`event-${i}`]));

  // Appends never go through it.
  const appendsBefore = c.stats().loopCalls;
  await c.append(id, [Buffer.from('event-30')]);
  assert.equal(c.stats().loopCalls, appendsBefore);

  // A frozen server: the read went through the loop and is held, yet the loop goes on turning
  // (setImmediate callbacks run while it is unsettled); after SIGCONT it returns the right event.
  const heldBefore = c.stats().loopCalls;
  await readWhileFrozen(srv, c, id, async (pending) => {
    assert.equal(c.stats().loopCalls, heldBefore + 1, 'the read did not go through the loop');
    let settled = false;
    pending.then(() => (settled = true), () => (settled = true));
    for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'the read settled while the server was frozen');
  });
  await readsEach(c, id, 31);
});

test('before the loop sleeps, it polls briefly for a held read, and that never holds its other work', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const id = await streamOf(c, 31);
  const before = c.stats().loopIdleSpins;
  await readsEach(c, id, 30);
  const spun = c.stats().loopIdleSpins - before;
  // On one CPU nothing spins; otherwise the first lone read at least (answers are quick until
  // shown otherwise). availableParallelism (the CPUs this process may use) is Node >= 18.14.
  const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  if (cpus > 1) assert.ok(spun >= 1, 'the loop never polled for an answer before sleeping');

  // A frozen server: while the read is held (and polled for, while it is young), timers fire and
  // another socket's echoes come back, again and again.
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise((r) => echo.listen(0, '127.0.0.1', r));
  t.after(() => echo.close());
  await readWhileFrozen(srv, c, id, async (pending) => {
    let settled = false;
    pending.then(() => (settled = true), () => (settled = true));
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 2));
    const sock = net.connect(echo.address().port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    for (let i = 0; i < 20; i++) {
      const got = new Promise((r) => sock.once('data', r));
      sock.write(`echo-${i}`);
      assert.equal((await got).toString(), `echo-${i}`);
    }
    sock.destroy();
    assert.equal(settled, false, 'the read settled while the server was frozen');
  });
  await readsEach(c, id, 31);
});
