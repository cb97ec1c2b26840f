'use strict';
// A 3-node cluster: kill -9 the node serving a subscription while another client appends. The
// subscriber receives every committed event exactly once, in order, with no error.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, DataClass, KimberliteError } = require('..');
const { startCluster, waitFor } = require('./helpers');

test('kill -9 the serving node: every committed event once, in order', async (t) => {
  const cluster = await startCluster(t, 3);
  const writer = await Client.connect({ addresses: cluster.addresses(), tenantId: 1n, requestTimeoutMs: 15000 });
  const reader = await Client.connect({ addresses: cluster.addresses(), tenantId: 1n, requestTimeoutMs: 15000 });
  t.after(() => Promise.all([writer.disconnect(), reader.disconnect()]));
  const id = await writer.createStream(`sub-failover-${process.pid}`, DataClass.NonPHI);

  const acked = new Map(); // offset -> payload
  let stop = false;
  const writing = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        acked.set(await writer.append(id, [Buffer.from(`f-${i}`)]), `f-${i}`);
      } catch (e) {
        assert.ok(e instanceof KimberliteError, String(e && e.stack));
      }
    }
  })();

  const sub = await reader.subscribe(id, { initialCredits: 32, timeoutMs: 60000 });
  const got = [];
  const reading = (async () => {
    for await (const e of sub) got.push(e);
  })();
  let failed = null;
  reading.catch((e) => (failed = e));

  try {
    await waitFor(() => got.length >= 100 || failed, { timeoutMs: 60000, what: 'events before the kill' });
    const serving = await waitFor(() => sub.node, { what: 'the serving node' });
    const victim = Object.values(cluster.nodes()).find((n) => n.addr === serving);
    assert.ok(victim, `no node at ${serving}`);
    process.kill(victim.pid, 'SIGKILL');
    const before = acked.size;
    await waitFor(() => acked.size >= before + 200 || failed, { timeoutMs: 90000, what: 'appends after the failover' });
  } finally {
    stop = true;
    await writing;
  }
  const length = await writer.streamLength(id);
  await waitFor(() => got.length >= Number(length) || failed, { timeoutMs: 60000, what: `all ${length} events` });
  await sub.unsubscribe();
  await reading;
  assert.equal(failed, null);

  const committed = [];
  for await (const e of writer.readAll(id)) committed.push(e.data.toString());
  assert.equal(committed.length, Number(length));
  assert.deepEqual(got.map((e) => e.offset), Array.from({ length: Number(length) }, (_, i) => BigInt(i)));
  assert.deepEqual(got.map((e) => e.data.toString()), committed);
  for (const [off, p] of acked) assert.equal(got[Number(off)].data.toString(), p);
  assert.ok(reader.stats().resubscribes >= 1, 'the subscription never moved: the test proved nothing');
  t.diagnostic(`delivered ${got.length}, acked ${acked.size}`);
});
