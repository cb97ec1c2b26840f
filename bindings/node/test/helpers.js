'use strict';
// Test helpers: the real `kimberlite` server and clusters as child processes on free loopback
// ports, a black hole (a listening socket that never answers), child Node processes, and polling
// with a deadline (never a sleep standing in for a wait).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');
const PKG = path.resolve(__dirname, '..');
const BUILD = process.env.BUILD || path.join(REPO, 'build');
const BIN = process.env.KIMBERLITE_BIN || path.join(BUILD, 'kimberlite');

/** waitFor polls cond() (sync or async) until it returns a truthy value or the deadline passes. */
async function waitFor(cond, { timeoutMs = 20000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Proc: a child process whose output is collected. */
class Proc {
  constructor(cmd, args, opts = {}) {
    this.out = '';
    this.err = '';
    this.exit = null;
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.child.stdout.on('data', (d) => (this.out += d));
    this.child.stderr.on('data', (d) => (this.err += d));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }
  get pid() {
    return this.child.pid;
  }
  kill(sig = 'SIGKILL') {
    if (this.exit === null) this.child.kill(sig);
  }
  /** waitExit waits for the process to end, with a deadline; returns {code, signal}. */
  async waitExit(timeoutMs = 30000) {
    let timer;
    const t = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\nstdout: ${this.out}\nstderr: ${this.err}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** startServer starts `kimberlite server` on a free loopback port. Call stop() when done. */
async function startServer(t, extraArgs = []) {
  const dir = tmpDir('kmb-node-srv-');
  const p = new Proc(BIN, ['server', '--listen', '127.0.0.1:0', '--data', dir, '--log-level', 'warn', ...extraArgs]);
  const addr = await waitFor(() => {
    if (p.exit) throw new Error(`server exited: ${JSON.stringify(p.exit)} ${p.err}`);
    const m = /kimberlite server listening on (\S+)/.exec(p.out);
    return m && m[1];
  }, { what: 'the server to listen' });
  const server = {
    addr,
    proc: p,
    async stop() {
      p.kill('SIGKILL');
      await p.waitExit();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (t) t.after(() => server.stop());
  return server;
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** startCluster starts `kimberlite dev --nodes n` on free ports; resolves when a leader is known. */
async function startCluster(t, n = 3) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    let free = true;
    for (let i = 0; i < n; i++) free = free && (await portFree(base + i));
    if (!free) continue;
    const dir = tmpDir('kmb-node-dev-');
    const p = new Proc(BIN, ['dev', '--nodes', String(n), '--port', String(base), '--data', dir]);
    const cluster = {
      proc: p,
      dir,
      nodes() {
        const nodes = {};
        for (const m of p.out.matchAll(/node=(\S+) pid=(\d+) addr=(\S+)/g)) nodes[m[1]] = { id: m[1], pid: Number(m[2]), addr: m[3] };
        return nodes;
      },
      leader() {
        const all = [...p.out.matchAll(/leader=(\S+) addr=(\S+)/g)];
        if (all.length === 0) return null;
        const last = all[all.length - 1];
        return { id: last[1], addr: last[2] };
      },
      addresses() {
        return Object.values(this.nodes()).map((x) => x.addr);
      },
      async stop() {
        p.kill('SIGTERM');
        try {
          await p.waitExit(20000);
        } catch {
          p.kill('SIGKILL');
          for (const node of Object.values(this.nodes())) {
            try {
              process.kill(node.pid, 'SIGKILL');
            } catch {}
          }
          await p.waitExit();
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    try {
      await waitFor(() => {
        if (p.exit) throw new Error(`dev exited: ${JSON.stringify(p.exit)} ${p.err}`);
        return Object.keys(cluster.nodes()).length === n && cluster.leader();
      }, { timeoutMs: 30000, what: 'a cluster leader' });
    } catch (err) {
      p.kill('SIGKILL');
      if (attempt === 4) throw err;
      continue;
    }
    if (t) t.after(() => cluster.stop());
    return cluster;
  }
  throw new Error('no free ports for a cluster');
}

/** blackHole listens on a free loopback port, accepts connections and never answers. */
async function blackHole(t) {
  const sockets = new Set();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const hole = {
    addr: `127.0.0.1:${srv.address().port}`,
    accepted: () => sockets.size,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(r));
    },
  };
  if (t) t.after(() => hole.close());
  return hole;
}

/** deadAddress: a loopback port nobody listens on. */
async function deadAddress() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  return `127.0.0.1:${port}`;
}

/** freeze stops a process with SIGSTOP and waits until the kernel reports it stopped. */
async function freeze(pid) {
  process.kill(pid, 'SIGSTOP');
  await waitFor(() => {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) [Tt] /.test(stat);
  }, { what: `process ${pid} to stop` });
}

/** runNode runs a Node script (file or inline ESM/CJS source) as a child process. */
function runNode(args, env = {}, opts = {}) {
  return new Proc(process.execPath, args, { env: { ...process.env, ...env }, cwd: opts.cwd || PKG });
}

module.exports = { freeze, REPO, PKG, BIN, waitFor, startServer, startCluster, blackHole, deadAddress, runNode, Proc, tmpDir };
