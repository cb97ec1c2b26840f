'use strict';
// node bench/node/bench.js ADDR N: the Node binding's round trips, measured the way
// bench/cabi/gorounds measures the Go client's, with the same output lines:
//   append_rt_ns  one 100-byte append awaited at a time
//   read_rt_ns    one small read awaited at a time
//   read_wait_rt_ns  the same with eventLoopWaitMicros 300 (opt-in: the read waits on the loop)
//   append_async_ns  4*N appends with 64 in flight (Promise window), ns per append
//   stream_id     the stream it wrote, which bench/node/raw.js then reads the same way
const path = require('node:path');
const { Client, DataClass } = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

async function main() {
  const [addr, nArg] = process.argv.slice(2);
  const n = Number(nArg || 2000);
  const c = await Client.connect({ addresses: [addr], tenantId: 0n });
  const stream = await c.createStream(`bench-node-${process.pid}-${Date.now()}`, DataClass.Public);
  const payload = Buffer.alloc(100, 'x');
  for (let i = 0; i < 100; i++) await c.append(stream, [payload]); // warm up connections

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.append(stream, [payload]);
  console.log(`append_rt_ns ${(process.hrtime.bigint() - t0) / BigInt(n)}`);

  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.read(stream, { fromOffset: BigInt(i), maxBytes: payload.length });
  console.log(`read_rt_ns ${(process.hrtime.bigint() - t0) / BigInt(n)}`);

  const w = await Client.connect({ addresses: [addr], tenantId: 0n, eventLoopWaitMicros: 300 });
  for (let i = 0; i < 20; i++) await w.read(stream, { fromOffset: BigInt(i), maxBytes: payload.length }); // warm up
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await w.read(stream, { fromOffset: BigInt(i), maxBytes: payload.length });
  console.log(`read_wait_rt_ns ${(process.hrtime.bigint() - t0) / BigInt(n)}`);
  await w.disconnect();

  const total = 4 * n;
  let next = 0;
  const lane = async () => {
    while (next++ < total) await c.append(stream, [payload]);
  };
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 64 }, lane));
  console.log(`append_async_ns ${(process.hrtime.bigint() - t0) / BigInt(total)}`);
  console.log(`stream_id ${stream}`);
  await c.disconnect();
}

main().catch((e) => {
  console.error('bench/node:', e);
  process.exit(1);
});
