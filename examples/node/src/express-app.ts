// The guide's Express.js sample. One change: Express does not parse JSON bodies by itself, so
// express.json() is installed for req.body to exist. PORT picks the HTTP port (default 3000;
// 0 picks a free one, printed on startup).
import express from 'express';
import type { AddressInfo } from 'node:net';
import { Client } from '@kimberlite/client';
import { addresses } from './config.js';

const app = express();
app.use(express.json());
let client: Client;

// Initialize on startup
async function init() {
  client = await Client.connect({
    addresses: addresses(['localhost:5432']),
    tenantId: 1n
  });
}

app.post('/events', async (req, res) => {
  try {
    const streamId = BigInt(req.body.stream_id);
    const events = req.body.events.map((e: string) => Buffer.from(e));
    const offset = await client.append(streamId, events);
    res.json({ offset: offset.toString() });
  } catch (error) {
    res.status(500).json({ error: (error as Error).message });
  }
});

// Graceful shutdown
process.on('SIGTERM', async () => {
  await client.disconnect();
  process.exit(0);
});

init().then(() => {
  const server = app.listen(Number(process.env.PORT ?? 3000), () => {  // Express.js app port (NOT Kimberlite server - that's :5432)
    console.log(`express listening on ${(server.address() as AddressInfo).port}`);
  });
});
