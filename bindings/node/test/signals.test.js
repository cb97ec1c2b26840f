'use strict';
// Pitfall 2: the Go runtime inside the addon must not change how Node handles signals, child
// processes or worker threads. Each case runs in a child process with a client open.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, runNode, waitFor } = require('./helpers');

const CHILD = path.join(__dirname, 'fixtures', 'child.js');

test('SIGINT and SIGTERM handlers run; spawn and exec work', async (t) => {
  const srv = await startServer(t);
  const p = runNode([CHILD, 'signals', srv.addr]);
  t.after(() => p.kill());
  await waitFor(() => p.out.includes('ready') || p.exit, { what: 'the child to be ready' });
  assert.match(p.out, /spawned\nexecuted\nready/, p.err);
  process.kill(p.pid, 'SIGINT');
  await waitFor(() => p.out.includes('got SIGINT 1') || p.exit, { what: 'the SIGINT handler' });
  process.kill(p.pid, 'SIGINT');
  await waitFor(() => p.out.includes('got SIGINT 2') || p.exit, { what: 'the second SIGINT handler' });
  process.kill(p.pid, 'SIGTERM');
  const { code, signal } = await p.waitExit();
  assert.equal(signal, null, p.out + p.err);
  assert.equal(code, 0, p.out + p.err);
  assert.match(p.out, /got SIGINT 1\ngot SIGINT 2\ngot SIGTERM/);
});

test('a storm of SIGINTs while calls run on every thread does not crash the process', async (t) => {
  const srv = await startServer(t);
  for (let round = 0; round < 3; round++) {
    const p = runNode([CHILD, 'storm', srv.addr]);
    t.after(() => p.kill());
    await waitFor(() => p.out.includes('ready') || p.exit, { what: 'the child to be ready' });
    const send = (sig) => {
      try {
        process.kill(p.pid, sig);
        return true;
      } catch {
        return false; // it has ended: the assertions below say how
      }
    };
    for (let i = 0; i < 1500 && send('SIGINT'); i++);
    send('SIGTERM');
    const { code, signal } = await p.waitExit(60000);
    assert.equal(signal, null, `round ${round}: ${p.out}${p.err.slice(0, 2000)}`);
    assert.equal(code, 0, p.out + p.err.slice(0, 2000));
    assert.match(p.out, /storm ok \d+ calls \d+ SIGINTs/);
  }
});

test('without handlers, SIGINT and SIGTERM end the process as they would without the addon', async (t) => {
  const srv = await startServer(t);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    const p = runNode([CHILD, 'defaults', srv.addr]);
    t.after(() => p.kill());
    await waitFor(() => p.out.includes('ready') || p.exit, { what: 'the child to be ready' });
    process.kill(p.pid, sig);
    const { signal } = await p.waitExit();
    assert.equal(signal, sig, p.out + p.err);
  }
});

test('worker threads with their own clients work and exit cleanly', async (t) => {
  const srv = await startServer(t);
  const p = runNode([CHILD, 'workers', srv.addr]);
  t.after(() => p.kill());
  const { code, signal } = await p.waitExit(60000);
  assert.equal(signal, null, p.out + p.err);
  assert.equal(code, 0, p.out + p.err);
  assert.match(p.out, /workers ok/);
});
