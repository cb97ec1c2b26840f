// The guide's NestJS service. In a Nest application the class carries @Injectable() (from
// @nestjs/common) and Nest calls the lifecycle hooks; the hook interfaces are declared here so
// that the example needs no Nest install. nest-main.ts drives the same lifecycle by hand.
import { Client, DataClass } from '@kimberlite/client';
import { addresses } from './config.js';

/** Nest's OnModuleInit: called once the module's dependencies are resolved. */
export interface OnModuleInit {
  onModuleInit(): unknown;
}

/** Nest's OnModuleDestroy: called when the application shuts down. */
export interface OnModuleDestroy {
  onModuleDestroy(): unknown;
}

export class KimberliteService implements OnModuleInit, OnModuleDestroy {
  private client: Client;

  async onModuleInit() {
    this.client = await Client.connect({
      addresses: addresses(['localhost:5432']),
      tenantId: 1n
    });
  }

  async onModuleDestroy() {
    await this.client.disconnect();
  }

  async append(streamId: bigint, events: Buffer[]) {
    return await this.client.append(streamId, events);
  }

  /** Not in the guide: finds or creates a stream, so the example has one to append to. */
  async createStream(name: string) {
    return await this.client.createStream(name, DataClass.NonPHI);
  }
}
