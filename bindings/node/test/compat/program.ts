// A program written for the official SDK's interface, unchanged but for its import line (theirs
// is '@kimberlitedb/client'; an installed copy of ours is '@kimberlite/client'). Their exception
// classes and isRetryable(), Pool and withRetry, positional expected offsets, read results
// indexed as arrays. compat.test.js runs it against a 3-node cluster and kills the leader half
// way; run-tests.sh compiles it with tsc --strict against index.d.ts.
import {
  Client, ConnectionError, DataClass, DEFAULT_RETRY, KimberliteError, OffsetMismatchError, Placement, Pool,
  StreamNotFoundError, TimeoutError, withRetry,
} from '../../index.js';
import type { Event, Offset, PoolStats, RetryPolicy, StreamId, TenantId } from '../../index.js';

export async function firstSteps(addresses: string[], tenantId: TenantId, name: string): Promise<StreamId> {
  const client = await Client.connect({
    addresses,
    tenantId,
    readTimeoutMs: 30000,
    writeTimeoutMs: 30000,
    bufferSizeBytes: 4 * 1024 * 1024,
    autoReconnect: true,
  });
  try {
    if (client.tenantId !== tenantId || client.lastRequestId !== null) throw new Error('tenantId / lastRequestId');
    const streamId: StreamId = await client.createStreamWithPlacement(name, DataClass.PHI, Placement.Global);
    const first: Offset = await client.append(streamId, [Buffer.from('order-0'), Buffer.from('order-1')], 0n);
    if (first !== 0n) throw new Error(`first offset ${first}`);
    try {
      await client.append(streamId, [Buffer.from('order-stale')], 0n);
      throw new Error('a stale expected offset was accepted');
    } catch (e) {
      if (!(e instanceof OffsetMismatchError) || e.isRetryable()) throw e;
    }
    const events: Event[] = await client.read(streamId, { fromOffset: 0n, maxBytes: 1024 * 1024 });
    const second = events[1];
    if (events.length !== 2 || events[0]?.data.toString() !== 'order-0' || second === undefined || second.offset !== 1n) {
      throw new Error(`read back ${events.length} events`);
    }
    const all: string[] = [];
    for await (const e of client.readAll(streamId, { fromOffset: 0n, batchSize: 8 })) all.push(e.data.toString());
    if (all.join(',') !== 'order-0,order-1') throw new Error(`readAll gave ${all.join(',')}`);
    try {
      await client.read(987654321n); // another tenant's stream id
      throw new Error("another tenant's stream was readable");
    } catch (e) {
      if (!(e instanceof StreamNotFoundError)) throw e;
    }
    try {
      await client.append(streamId, []);
      throw new Error('an empty append was accepted');
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes('Cannot append empty event list')) throw e;
    }
    return streamId;
  } finally {
    await client.disconnect();
  }
}

export interface FailoverResult {
  acked: string[];
  unknown: string[];
}

export async function appendsThroughFailover(
  addresses: string[], tenantId: TenantId, streamId: StreamId, count: number, midway: () => void,
): Promise<FailoverResult> {
  const acked: string[] = [];
  const unknown: string[] = [];
  const policy: RetryPolicy = { maxAttempts: 6, baseDelayMs: DEFAULT_RETRY.baseDelayMs, capDelayMs: 1000 };
  const pool = await Pool.create({ address: addresses, tenantId, maxSize: 4, acquireTimeoutMs: 10000 });
  try {
    let expected: bigint = await pool.withClient((c) => c.streamLength(streamId));
    for (let i = 0; i < count; i++) {
      if (i === Math.floor(count / 2)) midway();
      const payload = `failover-${i}`;
      const pooled = await pool.acquire();
      try {
        const at = expected;
        const offset = await withRetry(() => pooled.append(streamId, [Buffer.from(payload)], at), policy);
        acked.push(payload);
        expected = offset + 1n;
      } catch (e) {
        if (!(e instanceof KimberliteError)) throw e;
        // OffsetMismatch (an earlier unknown outcome of ours took the offset), a connection or
        // timeout error, or an outcome the client could not learn: find out by reading.
        if (!(e instanceof OffsetMismatchError || e instanceof ConnectionError || e instanceof TimeoutError)) {
          if (e.isRetryable()) throw e;
        }
        unknown.push(payload);
        expected = await withRetry(() => pooled.streamLength(streamId), policy);
      } finally {
        pooled.release();
      }
    }
    const stats: PoolStats = pool.stats();
    if (stats.inUse !== 0 || stats.maxSize !== 4 || stats.shutdown) throw new Error(`pool stats ${JSON.stringify(stats)}`);
  } finally {
    await pool.shutdown();
  }
  if (!pool.stats().shutdown) throw new Error('pool not shut down');
  return { acked, unknown };
}

export async function readEverything(addresses: string[], tenantId: TenantId, streamId: StreamId): Promise<string[]> {
  const client = await Client.connect({ addresses, tenantId });
  try {
    const out: string[] = [];
    let from: Offset = 0n;
    for (;;) {
      const page = await client.read(streamId, { fromOffset: from, maxBytes: 64 });
      for (const e of page) out.push(e.data.toString());
      if (!page.hasMore) return out;
      from = page.nextOffset;
    }
  } finally {
    await client.disconnect();
  }
}
