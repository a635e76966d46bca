/** A length of time: milliseconds as a number, or text such as "10 seconds", "1.5 hours", "1 day 2 hours". */
export type Duration = number | string;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Unit spellings (lower case) → milliseconds. A month is 30 days and a year 365: durations, not calendar dates. */
const UNITS = new Map<string, number>();
function unit(ms: number, ...names: string[]): void {
  for (const name of names) UNITS.set(name, ms);
}
unit(1, "ms", "millisecond", "milliseconds");
unit(SECOND, "s", "sec", "secs", "second", "seconds");
unit(MINUTE, "m", "min", "mins", "minute", "minutes");
unit(HOUR, "h", "hr", "hrs", "hour", "hours");
unit(DAY, "d", "day", "days");
unit(7 * DAY, "w", "week", "weeks");
unit(30 * DAY, "month", "months");
unit(365 * DAY, "y", "year", "years");

const ACCEPTED_UNITS = "ms, s, m, h, d, w, month, y (or their long forms: milliseconds, seconds, minutes, hours, days, weeks, months, years)";

// One "<number> <unit>" part; parts may be separated by spaces or commas. A leading sign is accepted
// by the syntax only so that "-5 s" gets the RangeError for negatives rather than a syntax error.
const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d+)?|\.\d+)`;
const PART = String.raw`(${NUMBER})\s*([a-z]+)`;
const PARTS = new RegExp(String.raw`^${PART}(?:\s*(?:,\s*)?${PART})*$`, "i");
const BARE_NUMBER = new RegExp(`^${NUMBER}$`);

/**
 * Reads a duration as milliseconds. A number is taken as milliseconds; a string is one or more
 * "<number> <unit>" parts (units are case-insensitive, singular, plural or short), or a bare number
 * of milliseconds. Text forms are rounded to whole milliseconds.
 *
 * @param value - the duration
 * @param what - names the value in error messages, e.g. "retry delay"
 * @throws TypeError when the value cannot be read; RangeError when it is negative, not finite or
 *   beyond {@link LATEST_TIME_MS}
 * @example
 * parseDuration("1 day 2 hours"); // 93_600_000
 * parseDuration("30s");           // 30_000
 * parseDuration(250);             // 250
 */
export function parseDuration(value: Duration, what = "duration"): number {
  if (typeof value === "number") return checkRange(value, what, value);
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a number of milliseconds or a string such as "10 seconds", got ${typeof value}`);
  }
  const text = value.trim();
  if (BARE_NUMBER.test(text)) return checkRange(Math.round(Number(text)), what, value);

  const parts = PARTS.test(text) ? [...text.matchAll(new RegExp(PART, "gi"))] : [];
  const amounts = parts.map(([, amount, name]) => ({ amount: Number(amount), ms: UNITS.get(name!.toLowerCase()) }));
  if (amounts.length === 0 || amounts.some((part) => part.ms === undefined)) {
    throw new TypeError(
      `${what} ${JSON.stringify(value)} is not a duration; expected "<number> <unit>" parts such as "10 seconds" or "1 day 2 hours", with units ${ACCEPTED_UNITS}`,
    );
  }
  if (amounts.some((part) => part.amount < 0)) throw new RangeError(`${what} must not be negative, got ${JSON.stringify(value)}`);
  const total = amounts.reduce((sum, part) => sum + part.amount * part.ms!, 0);
  return checkRange(Math.round(total), what, value);
}

function checkRange(ms: number, what: string, original: Duration): number {
  const shown = typeof original === "string" ? JSON.stringify(original) : String(original);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} must be a finite number of milliseconds, got ${shown}`);
  if (ms < 0) throw new RangeError(`${what} must not be negative, got ${shown}`);
  if (ms > LATEST_TIME_MS) throw new RangeError(`${what} must be at most ${LATEST_TIME_MS} ms (about 273,000 years), got ${shown}`);
  return ms;
}

/**
 * The latest time a `Date` can hold (year 275760), in milliseconds since the epoch: the bound of
 * every due time Hearth stores. Beyond 2^53 a time stored in SQLite cannot even be read back.
 */
export const LATEST_TIME_MS = 8.64e15;

/**
 * `at` (a time in milliseconds) when it is one a Date can hold; else a RangeError naming `what`.
 * @example dueTime(now + delayMs, "schedule(): the delay") // now + delayMs, or throws for 1e13 seconds
 */
export function dueTime(at: number, what: string): number {
  if (!(at <= LATEST_TIME_MS)) throw new RangeError(`${what} ends after the latest time a Date can hold (${new Date(LATEST_TIME_MS).toISOString()}), at ${at} ms`);
  return at;
}

/**
 * Short human form of a duration for messages and logs: the largest unit and the next one, e.g.
 * "500 ms", "1.5 s", "2 m 5 s", "3 d 2 h". The output reads back with {@link parseDuration}
 * (approximately: smaller units are dropped).
 *
 * @example
 * formatDuration(1500);       // "1.5 s"
 * formatDuration(266_400_000); // "3 d 2 h"
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < SECOND) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100) / 10;
  if (tenths < 60) return `${tenths} s`;

  let rest = Math.round(ms / SECOND) * SECOND;
  const counts = ([[DAY, "d"], [HOUR, "h"], [MINUTE, "m"], [SECOND, "s"]] as const).map(([size, label]) => {
    const count = Math.floor(rest / size);
    rest -= count * size;
    return { count, label };
  });
  // The largest non-zero unit, and the next one when it is not zero.
  const first = counts.findIndex((part) => part.count > 0);
  const parts = counts.slice(first, first + 2).filter((part) => part.count > 0);
  return parts.map((part) => `${part.count} ${part.label}`).join(" ");
}
