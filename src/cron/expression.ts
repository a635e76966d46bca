import { Cron } from "croner";

/** A checked cron trigger: when it runs, in UTC. */
export interface CronSchedule {
  /** The expression as written in `triggers.crons`. */
  readonly expression: string;
  /** The first run strictly after `afterMs` (epoch ms). */
  next(afterMs: number): number;
  /** The last run at or before `atMs`, or undefined when there is none. */
  latest(atMs: number): number | undefined;
}

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
// Quartz numbering, Cloudflare's: 1 = Sunday … 7 = Saturday.
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const MINUTE: Field = { name: "minute", min: 0, max: 59 };
const HOUR: Field = { name: "hour", min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: "day-of-month", min: 1, max: 31 };
const MONTH: Field = { name: "month", min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: Field = { name: "day-of-week", min: 1, max: 7, names: DAYS };

const SATURDAY = "7";
const VALUE = "(\\d+|[a-z]{3})";
const RANGE = new RegExp(`^${VALUE}-${VALUE}(?:/(\\d+))?$`, "i");
const START_STEP = new RegExp(`^${VALUE}/(\\d+)$`, "i");
const STAR_STEP = /^\*\/(\d+)$/;
const NTH = new RegExp(`^${VALUE}#(\\d+)$`, "i");
const LAST_WEEKDAY_OF_MONTH = new RegExp(`^${VALUE}L$`, "i");
const NEAREST_WEEKDAY = /^(\d+)W$/i;

/**
 * Checks a cron trigger as Cloudflare reads it: 5 fields (minute hour day-of-month month
 * day-of-week), in UTC, with the Quartz extensions — `L` (last day of the month; alone in
 * day-of-week, Saturday), `LW` (last weekday of the month), `15W` (weekday nearest the 15th), `6L`
 * (last Friday), `6#2` (second Friday); day-of-week 1-7 with 1 = Sunday; names such as MON or aug in
 * any case; wrap-around ranges such as FRI-MON. When both day fields are restricted, a day matching
 * either runs, as on Cloudflare.
 *
 * @throws Error naming the expression and what is wrong with it
 * @example
 * const schedule = parseCronTrigger("59 23 LW * *");
 * new Date(schedule.next(Date.parse("2025-01-01T00:00:00Z"))); // 2025-01-31T23:59:00Z
 * parseCronTrigger("0 17 * * 1"); // 5 PM UTC on Sundays
 * parseCronTrigger("0 0 * * 0");  // throws: day-of-week runs 1-7 (1 = Sunday)
 */
export function parseCronTrigger(expression: string): CronSchedule {
  if (typeof expression !== "string") throw new TypeError(`Invalid cron trigger ${String(expression)}: expected a string`);
  const fail = (reason: string): never => {
    throw new Error(`Invalid cron trigger ${JSON.stringify(expression)}: ${reason}`);
  };
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === "") {
    fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === "" ? 0 : fields.length}`);
  }
  let pattern: string;
  try {
    pattern = [
      normaliseField(fields[0]!, MINUTE),
      normaliseField(fields[1]!, HOUR),
      normaliseDayOfMonth(fields[2]!),
      normaliseField(fields[3]!, MONTH),
      normaliseDayOfWeek(fields[4]!),
    ].join(" ");
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  let cron: Cron;
  try {
    // No callback, so croner arms no timer: the object only computes run times.
    cron = new Cron(pattern, { mode: "5-part", timezone: "UTC", alternativeWeekdays: true });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  if (cron.nextRun(new Date(0)) === null) fail("it never runs (no date matches it)");
  return {
    expression,
    next(afterMs) {
      let next = cron.nextRun(new Date(afterMs));
      // croner works in whole seconds; make "strictly after" hold whatever the milliseconds.
      while (next !== null && next.getTime() <= afterMs) next = cron.nextRun(next);
      if (next === null) throw new Error(`Cron trigger ${JSON.stringify(expression)} has no run after ${new Date(afterMs).toISOString()}`);
      return next.getTime();
    },
    latest(atMs) {
      // previousRuns gives runs strictly before its reference.
      return cron.previousRuns(1, new Date(atMs + 1))[0]?.getTime();
    },
  };
}

/** A plain field: lists of values, ranges (wrap-around ones expanded) and steps, names made numbers. */
function normaliseField(text: string, field: Field): string {
  if (text === "") throw new Error(`the ${field.name} field is empty`);
  return text
    .split(",")
    .map((item) => normaliseItem(item, field))
    .join(",");
}

function normaliseItem(item: string, field: Field): string {
  if (item === "*") return "*";
  let match = STAR_STEP.exec(item);
  if (match) return `*/${step(match[1]!, field)}`;
  match = RANGE.exec(item);
  if (match) {
    const from = value(match[1]!, field);
    const to = value(match[2]!, field);
    const by = match[3] === undefined ? 1 : step(match[3], field);
    if (from <= to) return match[3] === undefined ? `${from}-${to}` : `${from}-${to}/${by}`;
    // FRI-MON: Cloudflare wraps around; croner does not, so list the values.
    const values: number[] = [];
    const span = field.max - field.min + 1;
    for (let offset = 0; offset <= to - from + span; offset += by) values.push(((from - field.min + offset) % span) + field.min);
    return values.join(",");
  }
  match = START_STEP.exec(item);
  if (match) return `${value(match[1]!, field)}-${field.max}/${step(match[2]!, field)}`;
  return String(value(item, field));
}

function normaliseDayOfMonth(text: string): string {
  const upper = text.toUpperCase();
  if (upper === "?") return "*";
  if (upper === "L" || upper === "LW") return upper;
  if (/^L-\d+W?$/.test(upper)) throw new Error(`day-of-month offsets from the last day (${text}) are not supported; use L or LW`);
  const nearest = NEAREST_WEEKDAY.exec(text);
  if (nearest) return `${value(nearest[1]!, DAY_OF_MONTH)}W`;
  checkAlone(text, DAY_OF_MONTH);
  return normaliseField(text, DAY_OF_MONTH);
}

function normaliseDayOfWeek(text: string): string {
  const upper = text.toUpperCase();
  if (upper === "?") return "*";
  if (upper === "L") return SATURDAY;
  const last = LAST_WEEKDAY_OF_MONTH.exec(text);
  if (last) return `${value(last[1]!, DAY_OF_WEEK)}L`;
  const nth = NTH.exec(text);
  if (nth) {
    const which = Number(nth[2]);
    if (which < 1 || which > 5) throw new Error(`in day-of-week ${text}, the week number after # runs 1-5, got ${nth[2]}`);
    return `${value(nth[1]!, DAY_OF_WEEK)}#${which}`;
  }
  checkAlone(text, DAY_OF_WEEK);
  return normaliseField(text, DAY_OF_WEEK);
}

/** L, W and # stand alone in their field, as in Cloudflare's parser. */
function checkAlone(text: string, field: Field): void {
  if (/[LW#?]/i.test(text.replace(/[a-z]{3}/gi, (name) => (field.names?.includes(name.toUpperCase()) ? "" : name)))) {
    throw new Error(`the ${field.name} field ${JSON.stringify(text)} uses L, W, # or ? inside a list or range; they stand alone in their field`);
  }
}

function value(text: string, field: Field): number {
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return index + field.min;
  if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a valid ${field.name}${names(field)}`);
  const number = Number(text);
  if (number < field.min || number > field.max) {
    const sunday = field === DAY_OF_WEEK ? " (1 = Sunday, as in Quartz)" : "";
    throw new Error(`${field.name} runs ${field.min}-${field.max}${sunday}, got ${text}`);
  }
  return number;
}

function step(text: string, field: Field): number {
  const by = Number(text);
  if (by < 1 || by > field.max - field.min) throw new Error(`a ${field.name} step runs 1-${field.max - field.min}, got ${text}`);
  return by;
}

function names(field: Field): string {
  if (field.names === undefined) return "";
  return ` (a number ${field.min}-${field.max} or one of ${field.names.join(" ")})`;
}
