'use strict';
// Logs, events and metrics: a leader killed under load is seen as 'leaderChange' (with the new
// leader's address), 'nodeDown' and a 'log' record; stats say the dead node is down; the
// Prometheus text holds the latency histograms. Every listener runs on the JS thread.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { isMainThread } = require('node:worker_threads');
const { Client, DataClass } = require('..');
const { startCluster, startServer, waitFor } = require('./helpers');

test('a leader kill under load emits leaderChange, nodeDown and a log record', async (t) => {
  const cluster = await startCluster(t, 3);
  const c = await Client.connect({ addresses: cluster.addresses(), tenantId: 1n, requestTimeoutMs: 15000, healthCheckPeriodMs: 500 });
  t.after(() => c.disconnect());
  const changes = [];
  const downs = [];
  const logs = [];
  c.on('leaderChange', (e) => { assert.ok(isMainThread); changes.push(e); });
  c.on('nodeDown', (e) => downs.push(e));
  c.on('log', (r) => logs.push(r));
  const id = await c.createStream(`observe-${process.pid}`, DataClass.NonPHI);
  let acked = 0;
  let stop = false;
  const writer = async (w) => {
    for (let i = 0; !stop; i++) {
      try {
        await c.append(id, [Buffer.from(`o${w}-${i}`)]);
        acked++;
      } catch {
        // failures during the failover are counted by the failover suite
      }
    }
  };
  const writers = Array.from({ length: 4 }, (_, w) => writer(w));
  try {
    await waitFor(() => acked >= 50, { timeoutMs: 30000, what: 'appends before the kill' });
    const leader = cluster.leader();
    const victim = cluster.nodes()[leader.id];
    process.kill(victim.pid, 'SIGKILL');
    const ev = await waitFor(() => changes.find((e) => e.leader !== victim.addr && e.leader !== ''), { timeoutMs: 60000, what: 'leaderChange to a new leader' });
    assert.ok(cluster.addresses().includes(ev.leader));
    assert.equal(typeof ev.view, 'bigint');
    await waitFor(() => downs.some((d) => d.node === victim.addr), { timeoutMs: 10000, what: 'nodeDown for the dead leader' });
    await waitFor(() => logs.some((r) => r.level === 'info' && r.message.startsWith(`kimberlite: leader changed leader=${ev.leader}`)),
      { timeoutMs: 10000, what: 'the leader-changed log record' });
    await waitFor(() => c.stats().nodes.some((n) => n.address === victim.addr && n.role === 'down'), { timeoutMs: 1000, what: 'the dead node shown as down' });
    const before = acked;
    await waitFor(() => acked >= before + 50, { timeoutMs: 60000, what: 'appends on the new leader' });
  } finally {
    stop = true;
    await Promise.all(writers);
  }
});

test('stats keys are camelCase and metricsText is Prometheus text', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  const id = await c.createStream(`metrics-${process.pid}`, DataClass.NonPHI);
  for (let i = 0; i < 3; i++) await c.append(id, [Buffer.from(`m${i}`)]);
  const s = c.stats();
  assert.equal(typeof s.leaderView, 'number');
  assert.equal(typeof s.nodes[0].openConns, 'number');
  assert.equal(s.nodes[0].role, 'leader');
  assert.equal(s.operations.append, 3);
  const text = c.metricsText();
  assert.match(text, /^# TYPE kimberlite_client_operation_duration_seconds histogram$/m);
  assert.match(text, /^kimberlite_client_operation_duration_seconds_count\{op="append"\} 3$/m);
  await c.disconnect();
  assert.throws(() => c.metricsText(), (e) => e.code === 'KMB_ERR_CLOSED');
});
