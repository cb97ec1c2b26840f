// The guide's TypeScript basic pattern as a user's own ES module (node basic.mjs HOST:PORT after
// tsc): it reads back what it wrote.
import { Client, DataClass } from '@kimberlite/client';

// Create client once
const client = await Client.connect({
  addresses: [process.argv[2] ?? 'localhost:5432'],
  tenantId: 1n,
  authToken: 'token',
});

// Reuse across operations
async function handleRequest(data: Buffer): Promise<bigint> {
  const streamId = await client.createStream('events', DataClass.NonPHI);
  return await client.append(streamId, [data]);
}

const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(`esm event ${i}`));
for (const p of payloads) await handleRequest(p);
const streamId = await client.createStream('events', DataClass.NonPHI);
const seen: string[] = [];
for await (const e of client.readAll(streamId)) seen.push(e.data.toString());
for (const p of payloads) if (!seen.includes(p.toString())) throw new Error(`missing ${p.toString()}`);
await client.disconnect();
console.log(`esm ok: ${seen.length} events`);
