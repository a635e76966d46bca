import { backoffDelay, resolveRetry, type RetryOptions } from "../time/backoff.ts";
import type { Clock } from "../time/clock.ts";

/** Options of `this.retry()`: a retry policy plus a predicate that may stop early. */
export interface RetryCallOptions extends RetryOptions {
  /**
   * Called with the error and the number of the attempt that would come next; return false to give up
   * at once (the error is thrown). Default: retry every error.
   */
  shouldRetry?: (error: unknown, nextAttempt: number) => boolean;
}

/**
 * Runs `fn(attempt)` until it succeeds or `maxAttempts` attempts failed, waiting a jittered, doubling
 * delay between attempts on `clock` (virtual in tests). Throws the last error.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => T | Promise<T>,
  options: RetryCallOptions | undefined,
  defaults: Required<RetryOptions>,
  clock: Clock,
): Promise<T> {
  if (typeof fn !== "function") throw new TypeError("retry(fn, options): fn must be a function");
  const { shouldRetry, ...policy } = options ?? {};
  if (shouldRetry !== undefined && typeof shouldRetry !== "function") {
    throw new TypeError("retry.shouldRetry must be a function (error, nextAttempt) => boolean");
  }
  const retry = resolveRetry(policy, defaults);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const next = attempt + 1;
      if (next > retry.maxAttempts || (shouldRetry && !shouldRetry(error, next))) throw error;
      const delay = backoffDelay(attempt, retry);
      if (delay > 0) await new Promise<void>((resolve) => clock.setTimer(clock.now() + delay, resolve));
    }
  }
}
