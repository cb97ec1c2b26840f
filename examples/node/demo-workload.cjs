'use strict';
// The guide's basic pattern under load, for `make demo`: one client for the application, shared
// by every async writer, appending until told to stop; then every acknowledged event is read back.
//
//   KIMBERLITE_ADDRESSES=... DEMO_STATUS=/tmp/node.json DEMO_STOP=/tmp/stop node demo-workload.cjs
//
// While it runs it rewrites DEMO_STATUS (JSON) four times a second from client.stats() and the
// client's events: the leader, acknowledged appends and their rate, retries, failovers seen. At
// the end it prints one verdict line and exits 0 only if every acknowledged append is in the
// stream exactly once.

const fs = require('node:fs');
const { Client, DataClass } = require('@kimberlite/client');

const addresses = (process.env.KIMBERLITE_ADDRESSES || 'localhost:5432').split(',').filter(Boolean);
const stopFile = process.env.DEMO_STOP || '';
const statusFile = process.env.DEMO_STATUS || '';
let stopped = false;
const stopping = () => stopped;
const stopWatch = setInterval(() => {
  if (stopFile !== '' && fs.existsSync(stopFile)) stopped = true;
}, 100);

async function main() {
  // Create a single client instance for your application
  const client = await Client.connect({ addresses, tenantId: 1n, healthCheckPeriodMs: 500 });
  const failovers = [];
  client.on('leaderChange', ({ leader, previous }) => {
    if (previous) failovers.push(`${previous} -> ${leader}`);
  });
  const streamId = await client.createStream(`demo-node-${process.pid}`, DataClass.NonPHI);
  const acked = [];
  let errors = 0;

  // Reuse this client across multiple operations
  const handleRequest = (data) => client.append(streamId, [data]);

  const writer = async (w) => {
    for (let i = 0; !stopping(); i++) {
      const data = Buffer.from(`node-${w}-${i}`);
      try {
        await handleRequest(data);
        acked.push(data.toString());
      } catch {
        errors++;
      }
    }
  };
  const started = Date.now();
  let last = { t: started, n: 0 };
  const publish = () => {
    if (!statusFile) return;
    const s = client.stats();
    const now = Date.now();
    const rate = now > last.t ? ((acked.length - last.n) * 1000) / (now - last.t) : 0;
    last = { t: now, n: acked.length };
    const doc = { client: 'node', leader: s.leader, acked: acked.length, rate, retries: s.retries, failovers: failovers.length, errors, elapsed: (now - started) / 1000 };
    fs.writeFileSync(`${statusFile}.tmp`, JSON.stringify(doc));
    fs.renameSync(`${statusFile}.tmp`, statusFile);
  };
  const timer = setInterval(publish, 250);
  await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
  clearInterval(timer);
  clearInterval(stopWatch);
  publish();

  const counts = new Map();
  for await (const e of client.readAll(streamId)) {
    const k = e.data.toString();
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  const missing = acked.filter((a) => !counts.has(a)).length;
  const duplicated = [...counts.values()].filter((c) => c > 1).length;
  const ok = missing === 0 && duplicated === 0;
  console.log(`node:   ${ok ? 'PASS' : 'FAIL'}: ${acked.length} acknowledged appends, ${missing} lost, ${duplicated} duplicated; ${errors} failed calls; failovers seen: ${failovers.join(', ') || 'none'}`);
  await client.disconnect();
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.log(`node:   FAIL: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
