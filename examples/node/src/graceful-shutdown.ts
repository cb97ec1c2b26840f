// Best Practices, 2. Graceful Shutdown: a long-running process appends until SIGTERM, then
// disconnects and exits 0. The handler is installed before the process says it is ready, so a
// SIGTERM that follows "ready" always finds it.
import { Client, DataClass } from '@kimberlite/client';
import { addresses } from './config.js';

const client = await Client.connect({ addresses: addresses(['localhost:5432']), tenantId: 1n });
const streamId = await client.createStream('heartbeats', DataClass.NonPHI);
let beats = 0;
let timer: NodeJS.Timeout | undefined;

process.on('SIGTERM', async () => {
  clearInterval(timer);
  await client.disconnect();
  console.log(`disconnected after ${beats} appends`);
  process.exit(0);
});

async function beat() {
  await client.append(streamId, [Buffer.from(new Date().toISOString())]);
  beats++;
}

await beat();
timer = setInterval(() => beat().catch((e) => console.error('append failed:', e.message)), 100);
console.log('ready');
