import { backoffDelay } from "../time/backoff.ts";

/**
 * Wait before the first retry of a wake that failed (its agent could not start: onStart threw, its
 * class is not registered any more, its file could not be opened). Cloudflare retries a failed alarm
 * after about 2 s, doubling the wait each time.
 */
export const WAKE_RETRY_FIRST_MS = 2_000;

/** Longest wait between wakes of an entry that keeps failing (one log line per wake, not a flood). */
export const WAKE_RETRY_MAX_MS = 5 * 60_000;

/**
 * How long to wait before waking an index entry again after `failures` wakes in a row failed (1 for
 * the first): {@link WAKE_RETRY_FIRST_MS}, doubling, at most {@link WAKE_RETRY_MAX_MS}. No jitter:
 * entries that failed together were woken together by a dispatcher that bounds how many run at once,
 * so retrying them together costs no more than the first wake did.
 *
 * @example
 * wakeRetryDelay(1); // 2000
 * wakeRetryDelay(3); // 8000
 * wakeRetryDelay(20); // 300000
 */
export function wakeRetryDelay(failures: number): number {
  // backoffDelay without its jitter (a random draw of 1 keeps the whole delay).
  return backoffDelay(failures, WAKE_RETRY, () => 1);
}

const WAKE_RETRY = { maxAttempts: Number.MAX_SAFE_INTEGER, baseDelayMs: WAKE_RETRY_FIRST_MS, maxDelayMs: WAKE_RETRY_MAX_MS } as const;
