'use strict';
// A minimal pure-JS Kimberlite client on one net.Socket, what a user could write with Node alone:
// the v5 handshake, then ReadEvents requests one at a time, decoding the events out of each
// answer. bench/node/bench.js times the binding's reads against it. No retries, pooling or
// failover: a baseline, not a client.
//
// Run alone, `node bench/node/raw.js ADDR N STREAM_ID` times N serial one-event reads (from
// offset i, max 100 bytes) and prints `raw_read_rt_ns` (ns per read).
const net = require('node:net');
const zlib = require('node:zlib');

const MAGIC = 0x56444220; // "VDB "
const VERSION = 5;

function varint(v) {
  const out = [];
  let x = BigInt(v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

function readVarint(b, pos) {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
}

class RawClient {
  constructor(sock) {
    this.sock = sock;
    this.nextId = 1;
    this.buf = Buffer.alloc(0);
    this.waiting = null;
    sock.on('data', (chunk) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.drain();
    });
  }

  static connect(host, port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true }, async () => {
        const c = new RawClient(sock);
        try {
          await c.call([0, ...varint(VERSION), 0]); // Handshake: version 5, no auth token
          resolve(c);
        } catch (e) {
          reject(e);
        }
      });
      sock.once('error', reject);
    });
  }

  drain() {
    if (this.buf.length < 14 || !this.waiting) return;
    const n = this.buf.readUInt32BE(6);
    if (this.buf.length < 14 + n) return;
    const payload = this.buf.subarray(14, 14 + n);
    const { resolve, reject, id } = this.waiting;
    this.waiting = null;
    if (this.buf.readUInt32BE(0) !== MAGIC || zlib.crc32(payload) !== this.buf.readUInt32BE(10)) {
      reject(new Error('bad frame from server'));
      return;
    }
    this.buf = this.buf.subarray(14 + n);
    const [tag, p1] = readVarint(payload, 0);
    const [got, p2] = readVarint(payload, p1);
    if (tag !== 1 || got !== id) reject(new Error('unexpected answer'));
    else resolve(payload.subarray(p2));
  }

  call(req) {
    const id = this.nextId++;
    // Request (tag 0), id, tenant 0, no audit metadata, then the request payload.
    const body = Buffer.from([0, ...varint(id), 0, 0, ...req]);
    const head = Buffer.alloc(14);
    head.writeUInt32BE(MAGIC, 0);
    head.writeUInt16BE(VERSION, 4);
    head.writeUInt32BE(body.length, 6);
    head.writeUInt32BE(zlib.crc32(body), 10);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, id };
      this.sock.write(Buffer.concat([head, body]));
      this.drain();
    });
  }

  async read(streamId, fromOffset, maxBytes) {
    const r = await this.call([5, ...varint(streamId), ...varint(fromOffset), ...varint(maxBytes)]);
    const [variant, p0] = readVarint(r, 0);
    if (variant !== 6) throw new Error(`server answered variant ${variant} to ReadEvents`);
    let [count, pos] = readVarint(r, p0);
    const events = [];
    while (count-- > 0) {
      const [n, p] = readVarint(r, pos);
      events.push(r.subarray(p, p + n));
      pos = p + n;
    }
    return events;
  }
}

async function main() {
  const [addr, nArg, streamArg] = process.argv.slice(2);
  const n = Number(nArg || 2000);
  const stream = BigInt(streamArg);
  const i = addr.lastIndexOf(':');
  const c = await RawClient.connect(addr.slice(0, i), Number(addr.slice(i + 1)));
  for (let k = 0; k < 100; k++) await c.read(stream, k, 100); // warm up, as the binding's loop does
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    if ((await c.read(stream, k, 100)).length !== 1) throw new Error(`no event at ${k}`);
  }
  console.log(`raw_read_rt_ns ${(process.hrtime.bigint() - t0) / BigInt(n)}`);
  c.sock.destroy();
}

module.exports = { RawClient };

if (require.main === module) {
  main().catch((e) => {
    console.error('bench/node/raw:', e);
    process.exit(1);
  });
}
