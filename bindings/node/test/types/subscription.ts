// Compile-time checks of the subscription declarations in index.d.ts.
import { Client, Subscription } from '../../index.js';
import type { StreamEvent, SubscribeOptions } from '../../index.js';

export async function subscriptions(client: Client, streamId: bigint): Promise<void> {
  const opts: SubscribeOptions = { fromOffset: 0n, initialCredits: 64, lowWater: 16, refill: 64, timeoutMs: 1000 };
  const sub: Subscription = await client.subscribe(streamId, opts);
  for await (const e of sub) {
    const offset: bigint = e.offset;
    e.data.toString('utf8');
    void offset;
    break;
  }
  const next: StreamEvent | null = await sub.nextEvent({ timeoutMs: null });
  const id: bigint = sub.id;
  const credits: number = sub.credits;
  const reason: string | null = sub.closeReason;
  const at: bigint = sub.nextOffset;
  await sub.grantCredits(10);
  await sub.unsubscribe();
  await sub.return();
  void [next, id, credits, reason, at];

  // @ts-expect-error offsets are bigints
  await client.subscribe(streamId, { fromOffset: 0 });
  // @ts-expect-error credits are numbers
  await client.subscribe(streamId, { initialCredits: 1n });
  // @ts-expect-error the constructor is not public
  new Subscription();
}
