// The guide's "Basic Pattern": one client for the application, reused by every operation.
import { Client, DataClass } from '@kimberlite/client';
import { addresses } from './config.js';

// Create client once
const client = await Client.connect({
  addresses: addresses(['localhost:5432', 'localhost:5433']),
  tenantId: 1n,
  authToken: process.env.KIMBERLITE_AUTH_TOKEN ?? 'token',
});

// Reuse across operations
async function handleRequest(data: Buffer) {
  const streamId = await client.createStream('events', DataClass.NonPHI);
  await client.append(streamId, [data]);
}

for (let i = 0; i < 3; i++) {
  await handleRequest(Buffer.from(`request ${i}`));
}

const streamId = await client.createStream('events', DataClass.NonPHI);
console.log(`stream ${streamId} holds ${await client.streamLength(streamId)} events`);
await client.disconnect();
