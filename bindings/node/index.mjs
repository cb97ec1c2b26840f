// ES module entry of @kimberlite/client: the same objects as the CommonJS entry.
import cjs from './index.js';

export const { Client, DataClass, KimberliteError, libraryVersion } = cjs;
export const { Subscription } = cjs;
export default cjs;
