import { formatDuration } from "../time/duration.ts";
import { QUEUE_LIMITS } from "./limits.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Checks a store's `retentionSeconds` (Cloudflare's `message_retention_period`): an integer from 60
 * to 1,209,600 (14 days); undefined is the default, 14 days. Returns milliseconds.
 *
 * @throws RangeError naming the option and its bounds
 * @example
 * retentionMs(undefined, "openQueueStore"); // 1_209_600_000
 * retentionMs(600, "openQueueStore");       // 600_000
 */
export function retentionMs(retentionSeconds: unknown, owner: string): number {
  if (retentionSeconds === undefined) return QUEUE_LIMITS.retentionMs;
  const { minRetentionSeconds: min, maxRetentionSeconds: max } = QUEUE_LIMITS;
  if (typeof retentionSeconds !== "number" || !Number.isInteger(retentionSeconds) || retentionSeconds < min || retentionSeconds > max) {
    throw new RangeError(`${owner}: retentionSeconds must be an integer from ${min} to ${max} (14 days), got ${String(retentionSeconds)}`);
  }
  return retentionSeconds * 1000;
}

/**
 * The warning logged when a purge deleted messages, e.g. "deleted 3 message(s) older than the 14-day
 * retention" (a retention that is not whole days reads "the 10 m retention").
 */
export function purgedWarning(purged: number, retentionMs: number): string {
  const period = retentionMs % DAY_MS === 0 ? `${retentionMs / DAY_MS}-day` : formatDuration(retentionMs);
  return `[hearth] queues: deleted ${purged} message(s) older than the ${period} retention`;
}
