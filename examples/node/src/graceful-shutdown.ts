// Best Practices, 2. Graceful Shutdown: a long-running process appends until SIGTERM, then
// disconnects and exits 0.
import { Client, DataClass } from '@kimberlite/client';
import { addresses } from './config.js';

const client = await Client.connect({ addresses: addresses(['localhost:5432']), tenantId: 1n });
const streamId = await client.createStream('heartbeats', DataClass.NonPHI);
let beats = 0;

async function beat() {
  await client.append(streamId, [Buffer.from(new Date().toISOString())]);
  if (++beats === 1) console.log('ready');
}

await beat();
const timer = setInterval(() => beat().catch((e) => console.error('append failed:', e.message)), 100);

process.on('SIGTERM', async () => {
  clearInterval(timer);
  await client.disconnect();
  console.log(`disconnected after ${beats} appends`);
  process.exit(0);
});
