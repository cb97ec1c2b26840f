'use strict';
// node bench/node/bench.js ADDR N ROUNDS GOBLOCKS [BLOCK]: the Node binding against the Go client
// and a pure-JS client, serial round trips on one server, side by side. The callers:
//   node       the binding (@kimberlite/client), one call awaited at a time
//   node-wait  the same with eventLoopWaitMicros 300 (opt-in: each call waits on the loop)
//   pure-js    bench/node/raw.js, a minimal net.Socket client sending the same ReadEvents frame
//   go         the Go client (bench/goblocks, a child process timing blocks of calls on command)
// Each round runs N operations per caller in blocks of BLOCK (default 200), the callers taking
// turns block by block in a rotating order, so all are measured at the same moments and drift in
// the machine hits each alike; a round's ratio is the ratio of the callers' total times. Then 4*N
// appends with 64 in flight (a Promise window against 64 goroutines). Prints a table of medians
// over the rounds and one `RATIO name value goal` line per round and ratio (see bench/run.sh).
const path = require('node:path');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { Client, DataClass } = require(path.join(__dirname, '..', '..', 'bindings', 'node'));
const { RawClient } = require('./raw.js');

const SIZE = 100;

/** The Go client in a child process: one command line in, the block's nanoseconds out. */
class GoBlocks {
  constructor(exe, addr) {
    this.proc = spawn(exe, ['-addr', addr, '-tenant', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = [];
    this.exit = new Promise((resolve) => this.proc.on('exit', resolve));
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`bench/goblocks exited ${code}`));
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => this.waiting.shift().resolve(BigInt(line)));
  }

  run(command) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(`${command}\n`);
    });
  }

  async close() {
    this.proc.stdin.end();
    const code = await this.exit;
    if (code !== 0) throw new Error(`bench/goblocks exited ${code}`);
  }
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return process.hrtime.bigint() - t;
}

/** n operations per caller in blocks, the callers taking turns in a rotating order; each caller
 * is called as fn(first, count) and resolves to the block's ns. Resolves to mean ns per operation. */
async function interleaved(callers, n, block) {
  const names = Object.keys(callers);
  const total = Object.fromEntries(names.map((k) => [k, 0n]));
  for (let b = 0, first = 0; first < n; b++, first += block) {
    const count = Math.min(block, n - first);
    const k = b % names.length;
    for (const name of [...names.slice(k), ...names.slice(0, k)]) total[name] += await callers[name](first, count);
  }
  return Object.fromEntries(names.map((k) => [k, Number(total[k] / BigInt(n))]));
}

async function round(addr, go, n, block, r) {
  const c = await Client.connect({ addresses: [addr], tenantId: 0n });
  const w = await Client.connect({ addresses: [addr], tenantId: 0n, eventLoopWaitMicros: 300 });
  const i = addr.lastIndexOf(':');
  const raw = await RawClient.connect(addr.slice(0, i), Number(addr.slice(i + 1)));
  const stream = await c.createStream(`bench-node-${process.pid}-${r}`, DataClass.Public);
  const payload = Buffer.alloc(SIZE, 'x');
  for (let k = 0; k < 100; k++) await c.append(stream, [payload]); // warm up connections
  await go.run(`append ${stream} ${SIZE} 20`);

  const append = await interleaved({
    node: (_, count) => timed(async () => {
      for (let k = 0; k < count; k++) await c.append(stream, [payload]);
    }),
    go: (_, count) => go.run(`append ${stream} ${SIZE} ${count}`),
  }, n, block);

  const nodeReads = (client) => (first, count) => timed(async () => {
    for (let k = first; k < first + count; k++) {
      const got = await client.read(stream, { fromOffset: BigInt(k), maxBytes: SIZE });
      if (got.events.length !== 1) throw new Error(`no event at ${k}`);
    }
  });
  await nodeReads(w)(0, 20); // warm up, as the appends were warmed
  await nodeReads(c)(0, 20);
  const read = await interleaved({
    node: nodeReads(c),
    'node-wait': nodeReads(w),
    'pure-js': (first, count) => timed(async () => {
      for (let k = first; k < first + count; k++) {
        if ((await raw.read(stream, k, SIZE)).length !== 1) throw new Error(`no event at ${k}`);
      }
    }),
    go: (first, count) => go.run(`read ${stream} ${first} ${SIZE} ${count}`),
  }, n, block);

  const total = 4 * n;
  let next = 0;
  const lane = async () => {
    while (next++ < total) await c.append(stream, [payload]);
  };
  const nodeWindow = Number((await timed(() => Promise.all(Array.from({ length: 64 }, lane)))) / BigInt(total));
  const goWindow = Number((await go.run(`append-window ${stream} ${SIZE} ${total} 64`)) / BigInt(total));
  raw.sock.destroy();
  await w.disconnect();
  await c.disconnect();
  return { append, read, window: { node: nodeWindow, go: goWindow } };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

async function main() {
  const [addr, nArg, roundsArg, goExe, blockArg] = process.argv.slice(2);
  const n = Number(nArg || 2000);
  const block = Number(blockArg || 200);
  const go = new GoBlocks(goExe, addr);
  const rounds = [];
  for (let r = 0; r < Number(roundsArg || 5); r++) rounds.push(await round(addr, go, n, block, r));
  await go.close();

  const med = (op, who) => median(rounds.map((x) => x[op][who]));
  const line = (label, a, b, what) => console.log(`${label.padEnd(28)} ${String(a).padStart(12)} ${String(b).padStart(12)} ${(a / b).toFixed(3).padStart(10)}  ${what}`);
  console.log(`(${n} ops per caller in turns of ${block}, ${SIZE} B, median of ${rounds.length} rounds; ns per op)`);
  console.log(`${''.padEnd(28)} ${'Node'.padStart(12)} ${'other'.padStart(12)} ${'ratio'.padStart(10)}`);
  line('append round trip', med('append', 'node'), med('append', 'go'), 'Node / Go');
  line('read round trip', med('read', 'node'), med('read', 'go'), 'Node / Go');
  line('append, 64 in flight', med('window', 'node'), med('window', 'go'), 'Node / Go (64 Promises vs 64 goroutines)');
  line('read, eventLoopWaitMicros', med('read', 'node-wait'), med('read', 'go'), 'Node (opt-in wait on the loop) / Go');
  line('read round trip', med('read', 'node'), med('read', 'pure-js'), 'Node / a pure-JS net.Socket client, same frame');
  for (const x of rounds) {
    const ratio = (name, a, b, goal, what) => console.log(`RATIO ${name} ${(a / b).toFixed(3)}${goal ? ` ${goal}` : ''} # ${what}`);
    ratio('node/pure-js.read', x.read.node, x.read['pure-js'], '<=1.0', 'Node binding serial 1-event read / pure-JS net.Socket client, same frame');
    ratio('node/go.read', x.read.node, x.read.go, '<=1.5', 'Node binding / Go client, serial 1-event read');
    ratio('node-wait/pure-js.read', x.read['node-wait'], x.read['pure-js'], '<=1.0', 'the same with eventLoopWaitMicros 300 (opt-in) / pure-JS client');
    ratio('node-wait/go.read', x.read['node-wait'], x.read.go, '<=1.5', 'the same with eventLoopWaitMicros 300 (opt-in) / Go client');
    ratio('node/go.append', x.append.node, x.append.go, '', 'Node binding / Go client, serial 1-event append');
    ratio('node/go.append-64-in-flight', x.window.node, x.window.go, '', 'Node binding, 64 Promises / Go client, 64 goroutines, ns per append');
  }
}

main().catch((e) => {
  console.error('bench/node:', e);
  process.exit(1);
});
