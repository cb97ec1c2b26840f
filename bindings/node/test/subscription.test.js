'use strict';
// Subscriptions against a real server: every event appended by another client arrives once, in
// order; a timeout leaves the subscription usable; unsubscribe, return() and disconnect end it;
// a consumer that does not read holds back the pushes instead of queueing without limit.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, DataClass, KimberliteError, Subscription } = require('..');
const path = require('node:path');
const { startServer, waitFor, runNode, PKG } = require('./helpers');

async function appendDistinct(c, id, prefix, n, batch = 7) {
  const sent = [];
  for (let i = 0; i < n; i += batch) {
    const events = [];
    for (let j = i; j < Math.min(n, i + batch); j++) events.push(Buffer.from(`${prefix}-${j}`));
    await c.append(id, events);
    sent.push(...events.map((e) => e.toString()));
  }
  return sent;
}

test('subscriptions on one server', async (t) => {
  const server = await startServer(t);
  const c = await Client.connect({ addresses: [server.addr], tenantId: 1n });
  const writer = await Client.connect({ addresses: [server.addr], tenantId: 1n });
  t.after(() => Promise.all([c.disconnect(), writer.disconnect()]));

  await t.test('every event once, in order; a timeout; unsubscribe', async () => {
    const id = await c.createStream(`sub-a-${process.pid}`, DataClass.NonPHI);
    const sub = await c.subscribe(id, { initialCredits: 16 });
    assert.ok(sub instanceof Subscription);
    assert.equal(typeof sub.id, 'bigint');
    assert.ok(sub.credits <= 16);
    assert.equal(sub.closeReason, null);
    assert.equal(sub.closed, false);
    assert.equal(sub.node, server.addr);
    const sending = appendDistinct(writer, id, 'a', 500);
    const got = [];
    for await (const e of sub) {
      got.push(e);
      if (got.length === 500) break;
    }
    const sent = await sending;
    assert.deepEqual(got.map((e) => e.offset), Array.from({ length: 500 }, (_, i) => BigInt(i)));
    assert.deepEqual(got.map((e) => e.data.toString()), sent);
    // break called return(): unsubscribed
    assert.equal(sub.closed, true);
    assert.equal(sub.closeReason, 'ClientCancelled');
    assert.equal(await sub.nextEvent(), null);
    assert.deepEqual(await sub.next(), { value: undefined, done: true });
    await sub.unsubscribe(); // idempotent
  });

  await t.test('a timeout keeps the subscription usable', async () => {
    const id = await c.createStream(`sub-b-${process.pid}`, DataClass.NonPHI);
    await appendDistinct(writer, id, 'b', 10);
    const sub = await c.subscribe(id, { fromOffset: 4n, initialCredits: 3, lowWater: 1, refill: 2, timeoutMs: 300 });
    const got = [];
    await assert.rejects(
      (async () => {
        for await (const e of sub) got.push(e);
      })(),
      (err) => err instanceof KimberliteError && err.code === 'KMB_ERR_TIMEOUT',
    );
    assert.deepEqual(got.map((e) => [e.offset, e.data.toString()]), [4, 5, 6, 7, 8, 9].map((i) => [BigInt(i), `b-${i}`]));
    assert.equal(sub.nextOffset, 10n);
    await writer.append(id, [Buffer.from('more')]);
    const e = await sub.nextEvent({ timeoutMs: 30000 });
    assert.equal(e.offset, 10n);
    assert.equal(e.data.toString(), 'more');
    await sub.grantCredits(5);
    await assert.rejects(sub.grantCredits(0), RangeError);
    const waiting = sub.nextEvent({ timeoutMs: null });
    await sub.unsubscribe();
    assert.equal(await waiting, null);
  });

  await t.test('a consumer that stops reading holds the pushes back', async () => {
    const id = await c.createStream(`sub-c-${process.pid}`, DataClass.NonPHI);
    const sub = await c.subscribe(id, { initialCredits: 8 });
    await appendDistinct(writer, id, 'c', 200, 50);
    // Nothing reads: the server may push at most the window; its credits run out and stay out.
    await waitFor(() => sub.credits === 0, { what: 'the credit window to be used up' });
    assert.equal(sub.nextOffset, 0n);
    const got = [];
    for await (const e of sub) {
      got.push(e.data.toString());
      if (got.length === 200) break;
    }
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => `c-${i}`));
  });

  await t.test('bad arguments', async () => {
    const id = await c.createStream(`sub-d-${process.pid}`, DataClass.NonPHI);
    await assert.rejects(c.subscribe(1, {}), TypeError);
    await assert.rejects(c.subscribe(id, { fromoffset: 1n }), /should be "fromOffset"/);
    await assert.rejects(c.subscribe(id, { consumerGroup: 'g' }), RangeError);
    await assert.rejects(c.subscribe(id, { initialCredits: -1 }), RangeError);
    await assert.rejects(c.subscribe(id, { initialCredits: 4, lowWater: 10 }), (err) => err.code === 'KMB_ERR_INVALID_ARGUMENT');
    await assert.rejects(c.subscribe(id, { timeoutMs: 'x' }), TypeError);
    assert.throws(() => new Subscription(), TypeError);
    const { load } = require('../lib/binding');
    assert.throws(() => load().subNext({}, 0n), TypeError); // the addon checks again
    assert.throws(() => load().subState(null), TypeError);
  });

  await t.test('workers and the process end with subscriptions still waiting', async () => {
    const p = runNode([path.join(__dirname, 'fixtures', 'subscription-exit.js'), server.addr], { KMB_PKG: PKG });
    const { code } = await p.waitExit(60000);
    assert.equal(code, 0, p.err);
    assert.match(p.out, /worker terminated 2\nexit with a pending next/);
  });

  await t.test('disconnect ends a waiting subscription', async () => {
    const other = await Client.connect({ addresses: [server.addr], tenantId: 1n });
    const id = await other.createStream(`sub-e-${process.pid}`, DataClass.NonPHI);
    const sub = await other.subscribe(id);
    const waiting = sub.nextEvent();
    await other.disconnect();
    await assert.rejects(waiting, (err) => err instanceof KimberliteError && ['KMB_ERR_CLOSED', 'KMB_ERR_SUBSCRIPTION_CLOSED'].includes(err.code));
    await assert.rejects(other.subscribe(id), (err) => err.code === 'KMB_ERR_CLOSED');
  });
});
