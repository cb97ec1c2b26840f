'use strict';

// withRetry: call an operation again after a failure that says trying again can help. The client
// already retries what is safe inside each call; this adds attempts on top, for code written for
// the official SDK. Only a KimberliteError whose isRetryable() is true is retried, which is never
// an append whose outcome is unknown (it may already be in the stream: read before appending the
// same events again).

const { KimberliteError } = require('./errors');

/** 4 attempts, pauses of 50, 100, 200 ms (capped at 800). */
const DEFAULT_RETRY = Object.freeze({ maxAttempts: 4, baseDelayMs: 50, capDelayMs: 800 });

function checkPolicy(policy) {
  if (typeof policy !== 'object' || policy === null) throw new TypeError('withRetry policy must be an object');
  const { maxAttempts, baseDelayMs, capDelayMs } = policy;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`"maxAttempts" must be an integer >= 1, got ${maxAttempts}`);
  for (const [name, v] of [['baseDelayMs', baseDelayMs], ['capDelayMs', capDelayMs]]) {
    if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`"${name}" must be a number >= 0, got ${v}`);
  }
  return policy;
}

/**
 * Resolves to `await op()`, calling it again (up to `policy.maxAttempts` in all) after each
 * KimberliteError whose `isRetryable()` is true, pausing `min(capDelayMs, baseDelayMs *
 * 2 ** (attempt - 1))` ms between. Any other error, or the last attempt's, rejects unchanged.
 */
async function withRetry(op, policy = DEFAULT_RETRY) {
  if (typeof op !== 'function') throw new TypeError('withRetry expects a function returning a Promise');
  checkPolicy(policy);
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof KimberliteError) || !e.isRetryable() || attempt >= policy.maxAttempts) throw e;
    }
    const delay = Math.min(policy.capDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

module.exports = { withRetry, DEFAULT_RETRY };
