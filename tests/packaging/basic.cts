// The guide's TypeScript basic pattern as a user's own CommonJS module (require after tsc).
import kimberlite = require('@kimberlite/client');
const { Client, DataClass } = kimberlite;

async function main(addr: string): Promise<void> {
  // Create client once
  const client = await Client.connect({ addresses: [addr], tenantId: 1n, authToken: 'token' });
  // Reuse across operations
  async function handleRequest(data: Buffer): Promise<bigint> {
    const streamId = await client.createStream('events', DataClass.NonPHI);
    return await client.append(streamId, [data]);
  }
  const offset = await handleRequest(Buffer.from('cjs event'));
  const streamId = await client.createStream('events', DataClass.NonPHI);
  const page = await client.read(streamId, { fromOffset: offset, maxBytes: 1024 });
  if (page.events[0]?.data.toString() !== 'cjs event') throw new Error('cjs event not read back');
  await client.disconnect();
  console.log('cjs ok');
}

main(process.argv[2] ?? 'localhost:5432').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
