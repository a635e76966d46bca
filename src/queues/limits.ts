/**
 * The limits of Cloudflare Queues that Hearth enforces, with Cloudflare's values (1 KB = 1000 bytes,
 * as in Cloudflare's limits page). Each is listed in docs/bindings/queues.md.
 */
/** 14 days: Cloudflare's longest retention, and Hearth's default. */
const MAX_RETENTION_SECONDS = 14 * 24 * 60 * 60;

export const QUEUE_LIMITS = {
  /** Largest message body, serialised (UTF-8 text, JSON text, the bytes, or the V8 serialisation). */
  maxMessageBytes: 128_000,
  /** Messages in one `sendBatch`. */
  maxBatchMessages: 100,
  /** Sum of the serialised bodies of one `sendBatch`. */
  maxBatchBytes: 256_000,
  /** Longest `delaySeconds` (send, sendBatch, retry, retryAll, `delivery_delay`, `retry_delay`): 12 hours. */
  maxDelaySeconds: 43_200,
  /**
   * Default retention: messages sent longer ago are deleted, delivered or not. 14 days, the most
   * Cloudflare allows (its default is 4, a per-queue setting, `message_retention_period`, that no
   * wrangler key carries): a shorter default would delete what earlier versions kept. A store's
   * `retentionSeconds` sets another.
   */
  retentionMs: MAX_RETENTION_SECONDS * 1000,
  /** Shortest retention a store accepts, seconds (Cloudflare's minimum). */
  minRetentionSeconds: 60,
  /** Longest retention a store accepts, seconds: 14 days (Cloudflare's maximum). */
  maxRetentionSeconds: MAX_RETENTION_SECONDS,
  /** Largest `max_batch_size`. */
  maxBatchSize: 100,
  /** Largest `max_batch_timeout`, seconds. */
  maxBatchTimeoutSeconds: 60,
  /** Largest `max_retries`. */
  maxRetries: 100,
  /** Largest `max_concurrency`. */
  maxConcurrency: 250,
  /**
   * Wall-clock time of one consumer invocation (the handler and its `waitUntil` work), real time: after
   * it the batch counts as failed (retried, or dead-lettered) and the invocation's later calls are ignored.
   */
  consumerWallClockMs: 15 * 60_000,
  /**
   * Hearth's own: the first wait before the outcome of a batch that the store could not record (a full
   * disk, an I/O error) is written again, real ms on the system clock; it doubles at each failure.
   */
  settleRetryFirstMs: 1_000,
  /** Hearth's own: the longest wait between two tries of an outcome the store could not record, ms. */
  settleRetryMaxMs: 60_000,
} as const;

/** Consumer settings when the config leaves them out, as on Cloudflare. */
export const CONSUMER_DEFAULTS = {
  maxBatchSize: 10,
  maxBatchTimeout: 5,
  maxRetries: 3,
  retryDelay: 0,
  maxConcurrency: 1,
} as const;

/**
 * Checks a delay in seconds: an integer from 0 to 43200. `what` starts the error message
 * (for example "Queue send failed: message delay").
 *
 * @throws RangeError naming the limit
 * @example
 * checkDelaySeconds(60, "retry(): delaySeconds"); // 60
 */
export function checkDelaySeconds(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > QUEUE_LIMITS.maxDelaySeconds) {
    throw new RangeError(
      `${what} ${describe(value)} is invalid: delaySeconds must be an integer from 0 to ${QUEUE_LIMITS.maxDelaySeconds} (12 hours)`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
