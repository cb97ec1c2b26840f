// Compile-time checks of index.d.ts (run-tests.sh runs tsc --noEmit on this file): what the
// guide writes type-checks, and the mistakes the JS layer refuses at run time are type errors.
import { Client, DataClass, KimberliteError, libraryVersion } from '../../index.js';
import type { ClientStats, ReadResult, ServerInfo, StreamEvent } from '../../index.js';

export async function usage(): Promise<void> {
  const client: Client = await Client.connect({
    addresses: ['localhost:5432', 'localhost:5433'],
    tenantId: 1n,
    authToken: 'token',
    connectTimeoutMs: 1000,
    keepAliveMs: false,
    readFrom: 'anyHealthy',
  });
  const streamId: bigint = await client.createStream('events', DataClass.NonPHI);
  const offset: bigint = await client.append(streamId, [Buffer.from('x'), new Uint8Array(2)], { expectedOffset: 0n });
  const page: ReadResult = await client.read(streamId, { fromOffset: offset, maxBytes: 1024 });
  const first: StreamEvent | undefined = page.events[0];
  if (first) first.data.toString('utf8');
  for await (const e of client.readAll(streamId)) e.offset.toString();
  const length: bigint = await client.streamLength(streamId);
  await client.sync();
  await client.ping();
  const info: ServerInfo = await client.serverInfo();
  const stats: ClientStats = client.stats();
  const closed: boolean = client.closed;
  await client.disconnect();
  const version: string = libraryVersion();
  void [length, info, stats, closed, version];

  try {
    await client.ping();
  } catch (e) {
    if (e instanceof KimberliteError) {
      const code: string = e.code;
      const retry: boolean = e.retryable;
      const server: number | undefined = e.serverCode;
      const rid: bigint | undefined = e.requestId;
      void [code, retry, server, rid];
    }
  }

  await Client.connect({ addresses: ['a:1'], tls: true });
  await Client.connect({ addresses: ['a:1'], tls: { ca: [Buffer.from(''), 'pem'], cert: 'pem', key: Buffer.from(''), servername: 'db', rejectUnauthorized: true } });
  // @ts-expect-error the server name is spelled as in tls.connect
  await Client.connect({ addresses: ['a:1'], tls: { serverName: 'db' } });
  // @ts-expect-error ids are bigints
  await client.append(1, [Buffer.from('x')]);
  // @ts-expect-error events are bytes, not strings
  await client.append(streamId, ['x']);
  // @ts-expect-error tenantId is a bigint
  await Client.connect({ addresses: ['a:1'], tenantId: 1 });
  // @ts-expect-error misspelled option
  await Client.connect({ addresses: ['a:1'], tenantID: 1n });
  // @ts-expect-error addresses are required
  await Client.connect({ tenantId: 1n });
  // @ts-expect-error data classes are DataClass values
  await client.createStream('events', 'PHI');
  // @ts-expect-error fromOffset is a bigint
  await client.read(streamId, { fromOffset: 0 });
  // @ts-expect-error the constructor is private
  new Client();
  // @ts-expect-error expected offsets are bigints
  await client.append(streamId, [Buffer.from('x')], 0);
  // @ts-expect-error only the Placement values
  await client.createStreamWithPlacement('events', DataClass.PHI, 'Global');
  // @ts-expect-error readAll options are fromOffset, maxBytes, batchSize
  client.readAll(streamId, { from: 0n });
  // @ts-expect-error read results are arrays of events with nextOffset, not plain objects
  const wrong: { events: StreamEvent[] } & { length: string } = await client.read(streamId);
  void wrong;
}
