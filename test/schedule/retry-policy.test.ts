/** A task's own retry options: kept as given, completed with the class's defaults at each run. */
import { describe, expect, it } from "vitest";
import { runRetry, storedRetry } from "../../src/schedule/retry-policy.ts";

const DEFAULTS = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 3000 };

describe("a task's retry policy", () => {
  it("is stored as given and refused when it does not fit the defaults of the time", () => {
    expect(storedRetry({ maxAttempts: 10, baseDelayMs: 2000 }, DEFAULTS)).toBe('{"maxAttempts":10,"baseDelayMs":2000}');
    expect(storedRetry(undefined, DEFAULTS)).toBeNull();
    expect(() => storedRetry({ baseDelayMs: 5000 }, DEFAULTS)).toThrow("retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)");
  });

  it("runs with the defaults as they are now filling in", () => {
    expect(runRetry('{"maxAttempts":10}', { ...DEFAULTS, baseDelayMs: 50 })).toEqual({ maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 3000 });
    expect(runRetry(null, DEFAULTS)).toEqual(DEFAULTS);
  });

  it("keeps its own attempts and delay when new defaults lower the delay bound below its delay", () => {
    // Stored under a 3 s bound; the class now says 1 s: the task keeps 10 attempts 2 s apart.
    expect(runRetry('{"maxAttempts":10,"baseDelayMs":2000}', { ...DEFAULTS, maxDelayMs: 1000 })).toEqual({ maxAttempts: 10, baseDelayMs: 2000, maxDelayMs: 2000 });
  });

  it("falls back to the defaults for a row that does not read as options", () => {
    expect(runRetry("not json", DEFAULTS)).toEqual(DEFAULTS);
    expect(runRetry('{"maxAttempts":0}', DEFAULTS)).toEqual(DEFAULTS);
  });
});
