import { Cron } from "croner";

const EXPECTED = "expected 5 fields: minute hour day-of-month month day-of-week (6 with seconds first), or an alias such as @daily";

// Written out here so the accepted aliases do not depend on croner's list (which also has @reboot).
const ALIASES = new Map<string, string>([
  ["@yearly", "0 0 1 1 *"],
  ["@annually", "0 0 1 1 *"],
  ["@monthly", "0 0 1 * *"],
  ["@weekly", "0 0 * * 0"],
  ["@daily", "0 0 * * *"],
  ["@midnight", "0 0 * * *"],
  ["@hourly", "0 * * * *"],
]);

// One cron field: digits, * ? / , - # and the letters of L, W and the month and day names. A
// duration such as "1 week 2 days 3h" never matches, so `when` strings are told apart cheaply.
const NAMES = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT";
const FIELD = new RegExp(`^(?:[\\d*?/,#-]|L|W|${NAMES})+$`, "i");

/** Cron schedules run in UTC unless a time zone is given, as on Cloudflare. */
const DEFAULT_TIMEZONE = "UTC";
const CACHE_LIMIT = 256;
const cache = new Map<string, Cron>();

/**
 * Cheap syntactic check that a string is meant as a cron expression: it starts with "@" or has
 * 5 (or, seconds first, 6) whitespace-separated fields of cron characters. It does not validate; use
 * {@link validateCron} for that.
 *
 * @example
 * looksLikeCron("*\/5 * * * *"); // true
 * looksLikeCron("@daily");       // true
 * looksLikeCron("10 seconds");   // false
 */
export function looksLikeCron(value: string): boolean {
  const text = value.trim();
  if (text.startsWith("@")) return true;
  const fields = text.split(/\s+/);
  return (fields.length === 5 || fields.length === 6) && fields.every((field) => FIELD.test(field));
}

/**
 * Checks a cron expression — 5 fields (minute hour day-of-month month day-of-week), 6 with a seconds
 * field first (as the Agents SDK's parser takes them), or an alias such as "@daily" — and an optional
 * IANA time zone. Expressions that never run, such as Feb 30, are refused.
 *
 * @throws TypeError naming the expression or the time zone, with the reason
 * @example
 * validateCron("0 9 * * MON-FRI", "Europe/Berlin");
 * validateCron("*\/10 * * * * *"); // every 10 seconds
 * validateCron("0 0 0 * * * *"); // throws: 7 fields
 */
export function validateCron(expression: string, timezone?: string): void {
  const cron = compile(expression, timezone);
  if (cron.nextRun(new Date(0)) === null) {
    throw new TypeError(`Cron expression ${JSON.stringify(expression)} never runs (no date matches it)`);
  }
}

/**
 * The first run time of a cron expression strictly after `afterMs`, as epoch milliseconds. Runs
 * fall on whole minutes (whole seconds with a seconds field). Without a time zone the expression is read in UTC. Compiled expressions
 * are cached, so calling this on every schedule fire is cheap.
 *
 * @throws TypeError for an invalid expression or time zone, or one that has no next run
 * @example
 * nextCronTime("@daily", Date.parse("2025-01-31T10:00:00Z")); // Date.parse("2025-02-01T00:00:00Z")
 * nextCronTime("0 9 * * *", Date.now(), "America/New_York");
 */
export function nextCronTime(expression: string, afterMs: number, timezone?: string): number {
  if (!Number.isFinite(afterMs)) throw new RangeError(`nextCronTime: afterMs must be finite epoch milliseconds, got ${afterMs}`);
  const cron = compile(expression, timezone);
  let next = cron.nextRun(new Date(afterMs));
  // croner works in whole seconds; make "strictly after" hold whatever the milliseconds.
  while (next !== null && next.getTime() <= afterMs) next = cron.nextRun(next);
  if (next === null) {
    throw new TypeError(
      `Cron expression ${JSON.stringify(expression)} has no run after ${new Date(afterMs).toISOString()}`,
    );
  }
  return next.getTime();
}

/** A compiled expression, from the cache when possible (least recently used entries are dropped). */
function compile(expression: string, timezone: string | undefined): Cron {
  const zone = timezone ?? DEFAULT_TIMEZONE;
  const key = `${zone} ${expression}`;
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const cron = create(expression, zone);
  cache.set(key, cron);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return cron;
}

function create(expression: string, timezone: string): Cron {
  if (typeof expression !== "string") throw new TypeError(`Cron expression must be a string, got ${typeof expression}`);
  checkTimezone(timezone);
  const trimmed = expression.trim();
  const pattern = trimmed.startsWith("@") ? ALIASES.get(trimmed.toLowerCase()) : trimmed;
  if (pattern === undefined) {
    throw new TypeError(
      `Invalid cron expression ${JSON.stringify(expression)}: unknown alias; ${EXPECTED} (aliases: ${[...ALIASES.keys()].join(" ")})`,
    );
  }
  try {
    // No callback, so croner arms no timer: the object only computes run times.
    // "no-wildcard": a job of fixed times (lists included) runs once in the hour a time zone repeats
    // when its clocks go back; one with a wildcard or a step follows real time, as in cron.
    return new Cron(pattern, { mode: pattern.split(/\s+/).length === 6 ? "6-part" : "5-part", timezone, fixedTimeRule: "no-wildcard" });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`Invalid cron expression ${JSON.stringify(expression)}: ${EXPECTED} (${reason})`, { cause: error });
  }
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch (error) {
    throw new TypeError(`Unknown time zone ${JSON.stringify(timezone)}: expected an IANA name such as "Europe/Berlin" or "UTC"`, {
      cause: error,
    });
  }
}
