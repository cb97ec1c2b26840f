// The guide's retry helper (Best Practices, 4. Error Recovery). One addition: an error the
// library marks as not retryable is thrown at once. Above all an append whose outcome is unknown
// (KMB_ERR_OUTCOME_UNKNOWN) must not be sent again blindly: it may already be in the stream.
import { KimberliteError } from '@kimberlite/client';

export async function withRetry<T>(
  fn: () => Promise<T>,
  maxRetries = 3
): Promise<T> {
  let lastError;
  for (let i = 0; i < maxRetries; i++) {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof KimberliteError && !error.retryable) throw error;
      lastError = error;
      await new Promise(resolve => setTimeout(resolve, Math.pow(2, i) * 100));
    }
  }
  throw lastError;
}
