import { resolveRetry, type RetryOptions } from "../time/backoff.ts";

/**
 * A task's own retry options as stored: checked now against the class's defaults (a mistake shows where
 * the task is made), kept as given, as Cloudflare keeps them (`getSchedule()` gives back what was
 * passed; the defaults fill in at each run). Null for none.
 * @throws TypeError or RangeError for options that do not validate
 */
export function storedRetry(retry: RetryOptions | undefined, defaults: Required<RetryOptions>): string | null {
  if (retry === undefined) return null;
  resolveRetry(retry, defaults);
  return JSON.stringify(retry);
}

/**
 * The policy a run follows: the task's own options completed with the class's defaults as they are
 * now. When new defaults no longer fit the task's own delay (a lower `maxDelayMs` than its
 * `baseDelayMs`), the delay bound rises to it: the task keeps its own attempts and delay rather than
 * losing them all. A row that does not read as options gets the defaults.
 */
export function runRetry(stored: string | null, defaults: Required<RetryOptions>): Required<RetryOptions> {
  if (stored === null) return defaults;
  try {
    const own = JSON.parse(stored) as RetryOptions;
    const baseDelayMs = own.baseDelayMs ?? defaults.baseDelayMs;
    return resolveRetry({ ...own, maxDelayMs: Math.max(own.maxDelayMs ?? defaults.maxDelayMs, baseDelayMs) }, defaults);
  } catch {
    return defaults; // a row from an older policy that no longer validates at all
  }
}
