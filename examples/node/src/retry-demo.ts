// Appends through withRetry, as the guide shows.
import { Client, DataClass } from '@kimberlite/client';
import { addresses } from './config.js';
import { withRetry } from './retry.js';

const client = await Client.connect({ addresses: addresses(['localhost:5432']), tenantId: 1n });
const streamId = await client.createStream('retry-events', DataClass.NonPHI);
const events = [Buffer.from('important')];

const offset = await withRetry(() => client.append(streamId, events));
console.log(`appended at offset ${offset}`);
await client.disconnect();
