// Runs KimberliteService through the lifecycle Nest would give it: init, use, destroy.
import { KimberliteService } from './nest-service.js';

const service = new KimberliteService();
await service.onModuleInit();
const streamId = await service.createStream('nest-events');
const first = await service.append(streamId, [Buffer.from('created'), Buffer.from('updated')]);
console.log(`appended 2 events to stream ${streamId} from offset ${first}`);
await service.onModuleDestroy();
