import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/time/duration.ts";
import { thrown } from "../support/thrown.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  it("takes numbers as milliseconds", () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration(1.5)).toBe(1.5);
  });

  it("reads a bare numeric string as milliseconds", () => {
    expect(parseDuration("250")).toBe(250);
    expect(parseDuration(" 42 ")).toBe(42);
  });

  it.each([
    ["10 seconds", 10 * SECOND],
    ["3 days", 3 * DAY],
    ["1.5 hours", 1.5 * HOUR],
    ["500 ms", 500],
    ["1 day 2 hours", DAY + 2 * HOUR],
    ["1 day, 2 hours", DAY + 2 * HOUR],
    ["2h", 2 * HOUR],
    ["30s", 30 * SECOND],
    ["1 week", 7 * DAY],
    ["1 month", 30 * DAY],
    ["2 years", 730 * DAY],
    ["1y", 365 * DAY],
    ["5 m", 5 * MINUTE],
    ["5 mins", 5 * MINUTE],
    ["1 min", MINUTE],
    ["2 hrs", 2 * HOUR],
    ["1 sec", SECOND],
    ["1 millisecond", 1],
    ["1w 2d 3h 4m 5s 6ms", 7 * DAY + 2 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND + 6],
    [".5s", 500],
  ])("reads %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("is case-insensitive for units", () => {
    expect(parseDuration("10 Seconds")).toBe(10 * SECOND);
    expect(parseDuration("2H 30M")).toBe(2 * HOUR + 30 * MINUTE);
    expect(parseDuration("1 WEEK")).toBe(7 * DAY);
  });

  it("rounds text forms to whole milliseconds", () => {
    expect(parseDuration("1.1 hours")).toBe(3_960_000);
    expect(parseDuration("0.4 ms")).toBe(0);
    expect(Number.isInteger(parseDuration("0.3333 s"))).toBe(true);
  });

  it.each(["soon", "10 fortnights", "ten seconds", "10 seconds later", "1.2.3 s", "s 10", "1 m s", "1e3 ms"])(
    "refuses %j with a TypeError naming the value, the input and the units",
    (text) => {
      const error = thrown(() => parseDuration(text, "retry delay"));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(`retry delay ${JSON.stringify(text)} is not a duration`);
      expect(error.message).toContain("ms, s, m, h, d, w, month, y");
    },
  );

  it("refuses an empty string", () => {
    expect(() => parseDuration("")).toThrow(TypeError);
    expect(() => parseDuration("   ")).toThrow(TypeError);
  });

  it("refuses values that are not numbers or strings", () => {
    expect(() => parseDuration(null as unknown as number, "timeout")).toThrow(/timeout must be a number of milliseconds or a string/);
  });

  it("refuses negative and non-finite values with a RangeError naming the value", () => {
    expect(() => parseDuration(-1, "delay")).toThrow(RangeError);
    expect(() => parseDuration(-1, "delay")).toThrow(/delay must not be negative, got -1/);
    expect(() => parseDuration(Number.NaN, "delay")).toThrow(/delay must be a finite number of milliseconds, got NaN/);
    expect(() => parseDuration(Number.POSITIVE_INFINITY, "delay")).toThrow(RangeError);
    expect(() => parseDuration("-5 seconds", "delay")).toThrow(RangeError);
    expect(() => parseDuration("-5 seconds", "delay")).toThrow(/delay must not be negative, got "-5 seconds"/);
    expect(() => parseDuration("-250", "delay")).toThrow(RangeError);
    expect(() => parseDuration(`${"9".repeat(400)} years`, "delay")).toThrow(RangeError);
  });

  it("uses \"duration\" as the default name", () => {
    expect(() => parseDuration("nope")).toThrow(/^duration "nope" is not a duration/);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [1, "1 ms"],
    [500, "500 ms"],
    [999.4, "999 ms"],
    [1000, "1 s"],
    [1500, "1.5 s"],
    [59_900, "59.9 s"],
    [59_960, "1 m"],
    [90_000, "1 m 30 s"],
    [HOUR, "1 h"],
    [HOUR + 5 * SECOND, "1 h"],
    [2 * HOUR + 15 * MINUTE, "2 h 15 m"],
    [3 * DAY + 2 * HOUR + 7 * MINUTE, "3 d 2 h"],
    [3 * DAY + 7 * MINUTE, "3 d"],
    [400 * DAY, "400 d"],
    [-1500, "-1.5 s"],
    [Number.POSITIVE_INFINITY, "Infinity"],
  ])("formats %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("produces text that parseDuration reads back", () => {
    for (const ms of [0, 7, 1500, 42_000, 90_000, 2 * HOUR + 15 * MINUTE, 3 * DAY + 2 * HOUR]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
