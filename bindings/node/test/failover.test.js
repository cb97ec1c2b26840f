'use strict';
// Failover: a 3-node cluster, the leader killed with SIGKILL while appends run. Every
// acknowledged append is in the stream exactly once, at the offset it was acknowledged with.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, DataClass, KimberliteError } = require('..');
const { startCluster, waitFor } = require('./helpers');

test('kill -9 the leader while appending: every acknowledged append exactly once', async (t) => {
  const cluster = await startCluster(t, 3);
  const c = await Client.connect({ addresses: cluster.addresses(), tenantId: 1n, requestTimeoutMs: 15000 });
  t.after(() => c.disconnect());
  const id = await c.createStream(`failover-${process.pid}`, DataClass.NonPHI);

  const acked = new Map(); // payload -> offset
  const failed = new Map(); // payload -> code
  let stop = false;
  const writer = async (w) => {
    for (let i = 0; !stop; i++) {
      const payload = `w${w}-${i}`;
      try {
        acked.set(payload, await c.append(id, [Buffer.from(payload)]));
      } catch (e) {
        assert.ok(e instanceof KimberliteError, String(e && e.stack));
        failed.set(payload, e.code);
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  try {
    await waitFor(() => acked.size >= 200, { timeoutMs: 60000, what: '200 appends before the kill' });
    const leader = cluster.leader();
    const victim = cluster.nodes()[leader.id];
    process.kill(victim.pid, 'SIGKILL');
    const before = acked.size;
    await waitFor(() => {
      const l = cluster.leader();
      return l && l.id !== leader.id;
    }, { timeoutMs: 60000, what: 'a new leader' });
    await waitFor(() => acked.size >= before + 200, { timeoutMs: 90000, what: '200 appends after the failover' });
  } finally {
    stop = true;
    await Promise.all(writers);
  }

  const seen = new Map();
  const order = [];
  for await (const e of c.readAll(id)) {
    const p = e.data.toString();
    seen.set(p, (seen.get(p) || 0) + 1);
    order[Number(e.offset)] = p;
  }
  for (const [p, off] of acked) {
    assert.equal(seen.get(p), 1, `acknowledged ${p} appears ${seen.get(p) || 0} times`);
    assert.equal(order[Number(off)], p, `acknowledged ${p} at offset ${off}`);
  }
  for (const [p, n] of seen) assert.equal(n, 1, `${p} appears ${n} times`);
  for (const [p, code] of failed) assert.ok((seen.get(p) || 0) <= 1, `${p} (${code})`);
  t.diagnostic(`acked ${acked.size}, failed ${failed.size} (${[...new Set(failed.values())].join(', ')})`);
});
