'use strict';
// The guide's TypeScript samples (examples/node, compiled by tsc against index.d.ts) run
// against real servers: basic pattern with a dead first address, Express with real HTTP
// requests and SIGTERM, the NestJS-style service, the retry helper, graceful shutdown.

const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { Client, DataClass, KimberliteError } = require('..');
const { freeze, REPO, startServer, deadAddress, runNode, waitFor } = require('./helpers');

const EX = path.join(REPO, 'examples', 'node');
const DIST = path.join(EX, 'dist');

before(() => {
  assert.ok(fs.existsSync(path.join(DIST, 'basic.js')), 'examples/node is not built: run npm ci && npm run build there (run-tests.sh does)');
});

function example(name, addrs, env = {}) {
  return runNode([path.join(DIST, name)], { KIMBERLITE_ADDRESSES: addrs.join(','), ...env }, { cwd: EX });
}

function post(port, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: '/events', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(s) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('basic pattern, the first address dead', async (t) => {
  const srv = await startServer(t, ['--auth-token', 'token=1']);
  const p = example('basic.js', [await deadAddress(), srv.addr]);
  const { code } = await p.waitExit();
  assert.equal(code, 0, p.err);
  assert.match(p.out, /stream \d+ holds 3 events/);
});

test('Express app: real HTTP requests append, errors are 500s, SIGTERM exits 0', async (t) => {
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n });
  t.after(() => c.disconnect());
  const streamId = await c.createStream('express-events', DataClass.NonPHI);
  const p = example('express-app.js', [srv.addr], { PORT: '0' });
  t.after(() => p.kill());
  const port = Number(await waitFor(() => {
    if (p.exit) throw new Error(`express exited: ${p.err}`);
    const m = /express listening on (\d+)/.exec(p.out);
    return m && m[1];
  }, { what: 'express to listen' }));

  const r1 = await post(port, { stream_id: streamId.toString(), events: ['a', 'b'] });
  assert.deepEqual(r1, { status: 200, body: { offset: '0' } });
  const all = await Promise.all(Array.from({ length: 20 }, (_, i) => post(port, { stream_id: streamId.toString(), events: [`c${i}`] })));
  for (const r of all) assert.equal(r.status, 200, JSON.stringify(r));
  assert.equal(new Set(all.map((r) => r.body.offset)).size, 20);
  const bad = await post(port, { stream_id: '999999999', events: ['x'] });
  assert.equal(bad.status, 500);
  assert.match(bad.body.error, /stream not found/i);
  assert.equal(await c.streamLength(streamId), 22n);

  p.kill('SIGTERM');
  const { code, signal } = await p.waitExit();
  assert.equal(signal, null, p.err);
  assert.equal(code, 0, p.err);
});

test('NestJS-style service: init, append, destroy', async (t) => {
  const srv = await startServer(t);
  const p = example('nest-main.js', [srv.addr]);
  const { code } = await p.waitExit();
  assert.equal(code, 0, p.err);
  assert.match(p.out, /appended 2 events to stream \d+ from offset 0/);
});

test('retry helper: retries what is retryable, stops at once on what is not', async (t) => {
  const { withRetry } = await import(pathToFileURL(path.join(DIST, 'retry.js')).href);
  const srv = await startServer(t);
  const c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, requestTimeoutMs: 500, retryMaxAttempts: 1, healthCheckPeriodMs: 0 });
  t.after(() => c.disconnect());

  // A server that stops answering, then comes back: the first ping times out, the second works.
  let attempts = 0;
  await freeze(srv.proc.pid);
  await withRetry(() => {
    attempts++;
    return c.ping().catch((e) => {
      process.kill(srv.proc.pid, 'SIGCONT');
      throw e;
    });
  });
  assert.equal(attempts, 2);

  attempts = 0;
  await assert.rejects(withRetry(() => (attempts++, c.append(987654321n, [Buffer.from('x')]))), (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_STREAM_NOT_FOUND');
  assert.equal(attempts, 1, 'a non-retryable error is not retried');

  attempts = 0;
  await assert.rejects(withRetry(async () => {
    attempts++;
    throw new Error(`plain ${attempts}`);
  }), /plain 3/);
  assert.equal(attempts, 3);

  const p = example('retry-demo.js', [srv.addr]);
  const { code } = await p.waitExit();
  assert.equal(code, 0, p.err);
  assert.match(p.out, /appended at offset 0/);
});

test('graceful shutdown: SIGTERM disconnects and exits 0', async (t) => {
  const srv = await startServer(t);
  const p = example('graceful-shutdown.js', [srv.addr]);
  t.after(() => p.kill());
  await waitFor(() => p.out.includes('ready') || p.exit, { what: 'the first append' });
  p.kill('SIGTERM');
  const { code, signal } = await p.waitExit();
  assert.equal(signal, null, p.err);
  assert.equal(code, 0, p.err);
  assert.match(p.out, /disconnected after \d+ appends/);
});
