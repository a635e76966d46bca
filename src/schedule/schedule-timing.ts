import { LIMITS } from "../limits.ts";
import { looksLikeCron, nextCronTime, validateCron } from "../time/cron.ts";
import { dueTime, LATEST_TIME_MS } from "../time/duration.ts";
import type { TaskRow } from "./task-store.ts";

/** Longest `scheduleEvery` interval, in seconds: 30 days, as in the Agents SDK. */
export const MAX_INTERVAL_SECONDS = 30 * 24 * 3600;

/** When a schedule runs, as stored: its type, first due time, and what computes the later ones. */
export type ScheduleTiming = Required<Pick<TaskRow, "type">> & Pick<TaskRow, "due_at" | "cron" | "timezone" | "delay_ms">;

/**
 * The timing of `schedule(when, …)`: a Date runs at that time, a number of seconds after that delay
 * (zero or less: at once, as the Agents SDK runs a time already past, so that
 * `schedule((deadline - Date.now()) / 1000, …)` still runs once the deadline passed), a cron
 * string at its next match.
 * @throws TypeError or RangeError for a `when` or time zone that cannot be scheduled
 */
export function scheduleTiming(when: Date | string | number, now: number, timezone: string | undefined): ScheduleTiming {
  let timing: ScheduleTiming;
  if (when instanceof Date) {
    const at = when.getTime();
    if (!Number.isFinite(at)) throw new TypeError("schedule(): the Date is invalid");
    timing = { type: "scheduled", due_at: at };
  } else if (typeof when === "number") {
    if (!Number.isFinite(when)) {
      throw new RangeError(`schedule(): a delay is a finite number of seconds (0 or less runs at once), got ${when}`);
    }
    const delayMs = Math.round(when * 1000);
    // The due time is never before now. The delay is kept as given (`delayInSeconds` reads it back),
    // a negative one bounded as a Date is: SQLite reads back only integers a number holds exactly.
    const due = dueTime(now + Math.max(0, delayMs), `schedule(): a delay of ${when} seconds`);
    timing = { type: "delayed", due_at: due, delay_ms: Math.max(delayMs, -LATEST_TIME_MS) };
  } else if (typeof when === "string") {
    const expression = when.trim();
    if (!looksLikeCron(expression)) {
      throw new TypeError(
        `schedule(): ${JSON.stringify(when)} is not a cron expression (5 fields: minute hour day-of-month month day-of-week, 6 with seconds first, or an alias such as @daily); pass a Date or a number of seconds for one-off runs`,
      );
    }
    validateCron(expression, timezone);
    return { type: "cron", cron: expression, timezone: timezone ?? null, due_at: nextCronTime(expression, now, timezone) };
  } else {
    throw new TypeError("schedule(): `when` must be a Date, a number of seconds, or a cron string");
  }
  if (timezone !== undefined) throw new TypeError("schedule(): `timezone` applies to cron expressions only");
  return timing;
}

/**
 * The interval of `scheduleEvery(seconds, …)` in milliseconds, from `minIntervalSeconds` to
 * {@link MAX_INTERVAL_SECONDS} (the Agents SDK's bound, with its message).
 * @throws RangeError for an interval out of that range
 */
export function intervalMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < LIMITS.minIntervalSeconds) {
    throw new RangeError(`scheduleEvery(): the interval is a number of seconds >= ${LIMITS.minIntervalSeconds} (minIntervalSeconds), got ${seconds}`);
  }
  if (seconds > MAX_INTERVAL_SECONDS) {
    throw new RangeError(`scheduleEvery(): intervalSeconds cannot exceed ${MAX_INTERVAL_SECONDS} seconds (30 days), got ${seconds}`);
  }
  return Math.round(seconds * 1000);
}

/** A `timeRange` bound in milliseconds; an invalid Date is refused rather than read as no bound (which listed everything). */
export function rangeBound(bound: Date | undefined, which: "start" | "end"): number | undefined {
  if (bound === undefined) return undefined;
  const time = bound instanceof Date ? bound.getTime() : Number.NaN;
  if (Number.isNaN(time)) throw new TypeError(`getSchedules: timeRange.${which} must be a valid Date`);
  return time;
}
