import { describe, expect, it } from "vitest";
import { looksLikeCron, nextCronTime, validateCron } from "../../src/time/cron.ts";
import { thrown } from "../support/thrown.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** The next `count` run times after `from`, each found from the previous one. */
function runs(expression: string, from: string, count: number, timezone?: string): string[] {
  const out: string[] = [];
  let time = at(from);
  for (let i = 0; i < count; i++) {
    time = nextCronTime(expression, time, timezone);
    out.push(iso(time));
  }
  return out;
}

describe("looksLikeCron", () => {
  it.each(["* * * * *", "*/5 * * * *", "0 9 * * MON-FRI", "0 0 1,15 JAN-JUN *", "0 0 L * *", "0 0 * * FRI#2", "@daily", "@whatever", " 0 0 * * * ", "*/10 * * * * *", "30 0 9 * * MON"])(
    "accepts %j",
    (value) => expect(looksLikeCron(value)).toBe(true),
  );

  it.each(["10 seconds", "1 day 2 hours", "1 week 2 days 3h", "1w 2d 3h 4m 5s", "250", "* * * *", "0 0 0 * * * *", "", "2025-01-01T00:00:00Z"])(
    "rejects %j",
    (value) => expect(looksLikeCron(value)).toBe(false),
  );
});

describe("nextCronTime", () => {
  it("returns the first run strictly after the given time", () => {
    expect(iso(nextCronTime("0 10 * * *", at("2025-01-31T09:59:59.999Z")))).toBe("2025-01-31T10:00:00.000Z");
    expect(iso(nextCronTime("0 10 * * *", at("2025-01-31T10:00:00.000Z")))).toBe("2025-02-01T10:00:00.000Z");
    expect(iso(nextCronTime("0 10 * * *", at("2025-01-31T10:00:00.001Z")))).toBe("2025-02-01T10:00:00.000Z");
    expect(iso(nextCronTime("* * * * *", at("2025-01-31T10:00:00.000Z")))).toBe("2025-01-31T10:01:00.000Z");
    expect(iso(nextCronTime("* * * * *", at("2025-01-31T10:00:30.500Z")))).toBe("2025-01-31T10:01:00.000Z");
  });

  it("takes a seconds field first, as the Agents SDK's cron parser does", () => {
    expect(runs("*/10 * * * * *", "2025-01-31T10:00:05Z", 3)).toEqual(["2025-01-31T10:00:10.000Z", "2025-01-31T10:00:20.000Z", "2025-01-31T10:00:30.000Z"]);
    expect(iso(nextCronTime("30 0 9 * * *", at("2025-01-31T09:00:30.000Z")))).toBe("2025-02-01T09:00:30.000Z");
  });

  it("follows a run from the previous one, never repeating it", () => {
    expect(runs("*/15 * * * *", "2025-01-31T23:40:00Z", 3)).toEqual([
      "2025-01-31T23:45:00.000Z",
      "2025-02-01T00:00:00.000Z",
      "2025-02-01T00:15:00.000Z",
    ]);
  });

  it("skips months that lack the day", () => {
    expect(runs("0 0 31 * *", "2025-01-31T00:00:00Z", 4)).toEqual([
      "2025-03-31T00:00:00.000Z",
      "2025-05-31T00:00:00.000Z",
      "2025-07-31T00:00:00.000Z",
      "2025-08-31T00:00:00.000Z",
    ]);
    expect(runs("0 12 29 2 *", "2025-01-01T00:00:00Z", 2)).toEqual(["2028-02-29T12:00:00.000Z", "2032-02-29T12:00:00.000Z"]);
  });

  it("handles the last day of the month and year ends", () => {
    expect(runs("30 23 L * *", "2024-01-15T00:00:00Z", 3)).toEqual([
      "2024-01-31T23:30:00.000Z",
      "2024-02-29T23:30:00.000Z",
      "2024-03-31T23:30:00.000Z",
    ]);
    expect(runs("0 0 1 * *", "2025-12-15T00:00:00Z", 2)).toEqual(["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]);
  });

  it("reads day-of-week names and ranges", () => {
    // 2025-01-31 is a Friday.
    expect(runs("0 9 * * MON-FRI", "2025-01-31T12:00:00Z", 2)).toEqual(["2025-02-03T09:00:00.000Z", "2025-02-04T09:00:00.000Z"]);
    expect(runs("0 9 * * 0", "2025-01-31T12:00:00Z", 1)).toEqual(["2025-02-02T09:00:00.000Z"]);
  });

  it("accepts the aliases", () => {
    const from = "2025-01-31T10:00:00Z"; // a Friday
    expect(runs("@yearly", from, 1)).toEqual(["2026-01-01T00:00:00.000Z"]);
    expect(runs("@annually", from, 1)).toEqual(["2026-01-01T00:00:00.000Z"]);
    expect(runs("@monthly", from, 1)).toEqual(["2025-02-01T00:00:00.000Z"]);
    expect(runs("@weekly", from, 1)).toEqual(["2025-02-02T00:00:00.000Z"]);
    expect(runs("@daily", from, 1)).toEqual(["2025-02-01T00:00:00.000Z"]);
    expect(runs("@midnight", from, 1)).toEqual(["2025-02-01T00:00:00.000Z"]);
    expect(runs("@hourly", from, 2)).toEqual(["2025-01-31T11:00:00.000Z", "2025-01-31T12:00:00.000Z"]);
    expect(runs("@DAILY", from, 1)).toEqual(["2025-02-01T00:00:00.000Z"]);
  });

  it("reads the expression in UTC without a time zone, and in the zone with one", () => {
    expect(runs("0 9 * * *", "2025-01-31T00:00:00Z", 1)).toEqual(["2025-01-31T09:00:00.000Z"]);
    expect(runs("0 9 * * *", "2025-01-31T00:00:00Z", 1, "Europe/Berlin")).toEqual(["2025-01-31T08:00:00.000Z"]);
    expect(runs("0 9 * * *", "2025-01-31T00:00:00Z", 1, "Asia/Kolkata")).toEqual(["2025-01-31T03:30:00.000Z"]);
  });

  it("keeps local wall-clock time across DST changes", () => {
    // New York springs forward on 2025-03-09: 09:00 local moves from 14:00Z to 13:00Z.
    expect(runs("0 9 * * *", "2025-03-08T00:00:00Z", 3, "America/New_York")).toEqual([
      "2025-03-08T14:00:00.000Z",
      "2025-03-09T13:00:00.000Z",
      "2025-03-10T13:00:00.000Z",
    ]);
    // Berlin skips 02:00–03:00 on 2025-03-30: a 02:30 job runs at the end of the gap (03:00 CEST).
    expect(runs("30 2 * * *", "2025-03-29T00:00:00Z", 3, "Europe/Berlin")).toEqual([
      "2025-03-29T01:30:00.000Z",
      "2025-03-30T01:00:00.000Z",
      "2025-03-31T00:30:00.000Z",
    ]);
    // Berlin repeats 02:00–03:00 on 2025-10-26: the 02:30 job runs once.
    expect(runs("30 2 * * *", "2025-10-25T00:00:00Z", 3, "Europe/Berlin")).toEqual([
      "2025-10-25T00:30:00.000Z",
      "2025-10-26T00:30:00.000Z",
      "2025-10-27T01:30:00.000Z",
    ]);
    // An interval job keeps its real-time spacing through New York's fall back (01:00–02:00 twice).
    expect(runs("*/30 * * * *", "2025-11-02T04:45:00Z", 5, "America/New_York")).toEqual([
      "2025-11-02T05:00:00.000Z",
      "2025-11-02T05:30:00.000Z",
      "2025-11-02T06:00:00.000Z",
      "2025-11-02T06:30:00.000Z",
      "2025-11-02T07:00:00.000Z",
    ]);
    // A job of fixed times (lists too) runs once at each wall-clock time in the hour clocks go back
    // over (New York, 2025-11-02: 01:00–02:00 EDT, then again EST); one with a step or a wildcard
    // follows real time, as in cron.
    for (const [expression, times] of [
      ["0,30 1 * * *", ["05:00", "05:30"]],
      ["*/30 1 * * *", ["05:00", "05:30", "06:00", "06:30"]],
      ["0 1,2 * * *", ["05:00", "07:00"]],
      ["0 30 1 * * *", ["05:30"]],
    ] as const) {
      const day = runs(expression, "2025-11-02T04:00:00Z", times.length + 1, "America/New_York");
      expect(day.slice(0, times.length), expression).toEqual(times.map((time) => `2025-11-02T${time}:00.000Z`));
      expect(day.at(-1)! > "2025-11-03", expression).toBe(true);
    }
  });

  it("throws when there is no next run", () => {
    expect(() => nextCronTime("0 0 30 2 *", at("2025-01-01T00:00:00Z"))).toThrow(
      'Cron expression "0 0 30 2 *" has no run after 2025-01-01T00:00:00.000Z',
    );
  });

  it("refuses invalid expressions and time zones like validateCron", () => {
    expect(() => nextCronTime("nope", 0)).toThrow(TypeError);
    expect(() => nextCronTime("* * * * *", 0, "Mars/Olympus")).toThrow(/Mars\/Olympus/);
    expect(() => nextCronTime("* * * * *", Number.NaN)).toThrow(RangeError);
  });

  it("serves repeated calls from its cache with the same answers", () => {
    const from = at("2025-06-01T00:00:00Z");
    const first = nextCronTime("17 3 * * *", from, "Europe/Berlin");
    for (let i = 0; i < 300; i++) nextCronTime(`${i % 60} ${i % 24} * * *`, from); // pushes entries out
    expect(nextCronTime("17 3 * * *", from, "Europe/Berlin")).toBe(first);
    expect(iso(first)).toBe("2025-06-01T01:17:00.000Z");
  });
});

describe("validateCron", () => {
  it("accepts standard expressions, aliases and zones", () => {
    for (const expression of ["* * * * *", "*/5 9-17 * * 1-5", "0 0 1 JAN *", "0 0 29 2 *", "@daily", "@hourly"]) {
      expect(() => validateCron(expression)).not.toThrow();
    }
    expect(() => validateCron("0 9 * * *", "America/New_York")).not.toThrow();
  });

  it("refuses 7-field patterns (a year field)", () => {
    const error = thrown(() => validateCron("0 0 9 * * * 2030"));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('"0 0 9 * * * 2030"');
    expect(error.message).toContain("expected 5 fields: minute hour day-of-month month day-of-week (6 with seconds first), or an alias such as @daily");
  });

  it("refuses garbage with the expression, the expected form and croner's reason", () => {
    const error = thrown(() => validateCron("every day at noon"));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^Invalid cron expression "every day at noon": expected 5 fields: .+ \(.+\)$/);
    expect(thrown(() => validateCron("61 * * * *")).message).toMatch(/"61 \* \* \* \*".*minute: 61/);
    expect(() => validateCron("")).toThrow(TypeError);
    expect(() => validateCron("* * * * X")).toThrow(TypeError);
  });

  it("refuses unknown aliases, including @reboot", () => {
    expect(thrown(() => validateCron("@reboot")).message).toContain('"@reboot": unknown alias');
    expect(() => validateCron("@every")).toThrow(TypeError);
  });

  it("refuses expressions that never run", () => {
    expect(() => validateCron("0 0 30 2 *")).toThrow(/"0 0 30 2 \*" never runs/);
  });

  it("refuses an unknown time zone, naming it", () => {
    const error = thrown(() => validateCron("* * * * *", "Mars/Olympus"));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('Unknown time zone "Mars/Olympus"');
  });
});
