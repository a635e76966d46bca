/**
 * Cron trigger expressions as Cloudflare reads them: 5 fields, UTC, Quartz extensions (L, W, LW, #),
 * day-of-week 1-7 with 1 = Sunday, names in any case, wrap-around ranges; invalid ones name themselves.
 */
import { describe, expect, it } from "vitest";
import { parseCronTrigger } from "../../src/cron/expression.ts";

const FROM = Date.parse("2025-01-01T00:00:00Z"); // a Wednesday

/** The next `n` runs after FROM, as ISO strings with the weekday. */
function runs(expression: string, n = 3, from = FROM): string[] {
  const schedule = parseCronTrigger(expression);
  const out: string[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    at = schedule.next(at);
    const date = new Date(at);
    out.push(`${date.toISOString().slice(0, 16)} ${date.toUTCString().slice(0, 3)}`);
  }
  return out;
}

describe("parseCronTrigger", () => {
  it("reads plain 5-field expressions in UTC", () => {
    expect(runs("*/15 * * * *")).toEqual(["2025-01-01T00:15 Wed", "2025-01-01T00:30 Wed", "2025-01-01T00:45 Wed"]);
    expect(runs("0 15 1 * *")).toEqual(["2025-01-01T15:00 Wed", "2025-02-01T15:00 Sat", "2025-03-01T15:00 Sat"]);
    expect(runs("5/20 9-10 * * *")).toEqual(["2025-01-01T09:05 Wed", "2025-01-01T09:25 Wed", "2025-01-01T09:45 Wed"]);
  });

  it("numbers days of the week 1-7 with 1 = Sunday (Cloudflare's docs: 0 17 * * 1 is 5 PM Sunday)", () => {
    expect(runs("0 17 * * 1", 2)).toEqual(["2025-01-05T17:00 Sun", "2025-01-12T17:00 Sun"]);
    expect(runs("0 0 * * 7", 1)).toEqual(["2025-01-04T00:00 Sat"]);
    expect(runs("0 0 * * 2-6", 5)).toEqual(["2025-01-02T00:00 Thu", "2025-01-03T00:00 Fri", "2025-01-06T00:00 Mon", "2025-01-07T00:00 Tue", "2025-01-08T00:00 Wed"]);
    expect(runs("0 0 * * */2", 4)).toEqual(["2025-01-02T00:00 Thu", "2025-01-04T00:00 Sat", "2025-01-05T00:00 Sun", "2025-01-07T00:00 Tue"]);
  });

  it("accepts month and day names in any case", () => {
    expect(runs("0 0 1 aug *", 2)).toEqual(["2025-08-01T00:00 Fri", "2026-08-01T00:00 Sat"]);
    expect(runs("0 9 * * MON", 1)).toEqual(["2025-01-06T09:00 Mon"]);
    expect(runs("0 9 * * mOn-wEd", 3)).toEqual(["2025-01-01T09:00 Wed", "2025-01-06T09:00 Mon", "2025-01-07T09:00 Tue"]);
    expect(runs("0 0 1 JAN-MAR *", 3)).toEqual(["2025-02-01T00:00 Sat", "2025-03-01T00:00 Sat", "2026-01-01T00:00 Thu"]);
  });

  it("wraps ranges around, as Cloudflare does", () => {
    expect(runs("0 0 * * FRI-MON", 4)).toEqual(["2025-01-03T00:00 Fri", "2025-01-04T00:00 Sat", "2025-01-05T00:00 Sun", "2025-01-06T00:00 Mon"]);
    expect(runs("50-10/10 0 * * *", 3)).toEqual(["2025-01-01T00:10 Wed", "2025-01-01T00:50 Wed", "2025-01-02T00:00 Thu"]);
  });

  it("supports L, LW and W in day-of-month", () => {
    expect(runs("0 0 L * *")).toEqual(["2025-01-31T00:00 Fri", "2025-02-28T00:00 Fri", "2025-03-31T00:00 Mon"]);
    // Cloudflare's docs example: 23:59 on the last weekday of the month (May 31, 2025 is a Saturday).
    expect(runs("59 23 LW * *", 5)).toContain("2025-05-30T23:59 Fri");
    expect(runs("59 23 LW * *", 1)).toEqual(["2025-01-31T23:59 Fri"]);
    // The weekday nearest the 15th; Feb 15, 2025 is a Saturday, Jun 15 a Sunday.
    expect(runs("0 0 15W * *", 6)).toEqual([
      "2025-01-15T00:00 Wed",
      "2025-02-14T00:00 Fri",
      "2025-03-14T00:00 Fri",
      "2025-04-15T00:00 Tue",
      "2025-05-15T00:00 Thu",
      "2025-06-16T00:00 Mon",
    ]);
  });

  it("supports L and # in day-of-week", () => {
    expect(runs("0 0 * * 6L", 2)).toEqual(["2025-01-31T00:00 Fri", "2025-02-28T00:00 Fri"]); // last Friday
    expect(runs("0 0 * * 1L", 1)).toEqual(["2025-01-26T00:00 Sun"]);
    expect(runs("0 0 * * L", 1)).toEqual(["2025-01-04T00:00 Sat"]); // alone, L is Saturday
    expect(runs("0 0 * * 6#2", 2)).toEqual(["2025-01-10T00:00 Fri", "2025-02-14T00:00 Fri"]); // second Friday
    expect(runs("0 0 * * MON#1", 2)).toEqual(["2025-01-06T00:00 Mon", "2025-02-03T00:00 Mon"]);
  });

  it("runs on a day matching either day field when both are restricted", () => {
    expect(runs("0 0 13 * 6", 4)).toEqual(["2025-01-03T00:00 Fri", "2025-01-10T00:00 Fri", "2025-01-13T00:00 Mon", "2025-01-17T00:00 Fri"]);
  });

  it("treats ? as any value in the day fields", () => {
    expect(runs("0 12 ? * 2", 1)).toEqual(["2025-01-06T12:00 Mon"]);
    expect(runs("0 12 1 * ?", 1)).toEqual(["2025-01-01T12:00 Wed"]);
  });

  it("finds the latest run at or before a time", () => {
    const schedule = parseCronTrigger("*/5 * * * *");
    expect(schedule.latest(Date.parse("2025-01-01T10:07:00Z"))).toBe(Date.parse("2025-01-01T10:05:00Z"));
    expect(schedule.latest(Date.parse("2025-01-01T10:05:00Z"))).toBe(Date.parse("2025-01-01T10:05:00Z"));
    expect(schedule.next(Date.parse("2025-01-01T10:05:00Z"))).toBe(Date.parse("2025-01-01T10:10:00Z"));
    expect(schedule.next(Date.parse("2025-01-01T10:04:59.500Z"))).toBe(Date.parse("2025-01-01T10:05:00Z"));
    expect(parseCronTrigger("0 0 29 2 *").latest(FROM)).toBe(Date.parse("2024-02-29T00:00:00Z"));
  });

  it("refuses invalid expressions with an error naming the expression", () => {
    const refused = (expression: string) => () => parseCronTrigger(expression);
    expect(refused("* * * *")).toThrow('Invalid cron trigger "* * * *": expected 5 fields (minute hour day-of-month month day-of-week), got 4');
    expect(refused("0 0 0 * * *")).toThrow("expected 5 fields (minute hour day-of-month month day-of-week), got 6");
    expect(refused("")).toThrow('Invalid cron trigger "": expected 5 fields (minute hour day-of-month month day-of-week), got 0');
    expect(refused("@daily")).toThrow('Invalid cron trigger "@daily": expected 5 fields');
    expect(refused("0 0 * * 0")).toThrow('Invalid cron trigger "0 0 * * 0": day-of-week runs 1-7 (1 = Sunday, as in Quartz), got 0');
    expect(refused("0 0 * * 8")).toThrow("day-of-week runs 1-7 (1 = Sunday, as in Quartz), got 8");
    expect(refused("60 * * * *")).toThrow('Invalid cron trigger "60 * * * *": minute runs 0-59, got 60');
    expect(refused("0 24 * * *")).toThrow("hour runs 0-23, got 24");
    expect(refused("0 0 32 * *")).toThrow("day-of-month runs 1-31, got 32");
    expect(refused("0 0 1 13 *")).toThrow("month runs 1-12, got 13");
    expect(refused("0 0 1 FOO *")).toThrow('"FOO" is not a valid month (a number 1-12 or one of JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC)');
    expect(refused("*/0 * * * *")).toThrow("a minute step runs 1-59, got 0");
    expect(refused("0 0 * * 6#6")).toThrow("in day-of-week 6#6, the week number after # runs 1-5, got 6");
    expect(refused("0 0 L-3 * *")).toThrow("day-of-month offsets from the last day (L-3) are not supported; use L or LW");
    expect(refused("0 0 1,L * *")).toThrow('the day-of-month field "1,L" uses L, W, # or ? inside a list or range; they stand alone in their field');
    expect(refused("0 0 31 2 *")).toThrow('Invalid cron trigger "0 0 31 2 *": it never runs (no date matches it)');
    expect(refused("0 0 * * ,")).toThrow('Invalid cron trigger "0 0 * * ,"');
    expect(() => parseCronTrigger(5 as unknown as string)).toThrow("Invalid cron trigger 5: expected a string");
  });
});
