import type { TimeInput } from "@opentelemetry/api";

const origin = performance.timeOrigin;

/**
 * Now, in epoch milliseconds with sub-millisecond precision. Read from the monotonic clock, so a test's
 * virtual `Date` does not squash spans to zero length.
 */
export function nowMs(): number {
  return origin + performance.now();
}

/** An OpenTelemetry time input (epoch ms, `Date`, or `[seconds, nanoseconds]`) in epoch milliseconds. */
export function toMs(time: TimeInput | undefined): number {
  if (time === undefined) return nowMs();
  if (typeof time === "number") return time < 1e11 ? origin + time : time; // performance.now() values are relative
  if (time instanceof Date) return time.getTime();
  return time[0] * 1000 + time[1] / 1e6;
}
