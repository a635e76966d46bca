import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RETRY, resolveRetry, type RetryOptions } from "../../src/time/backoff.ts";

const low = () => 0;
const high = () => 0.999_999;

describe("resolveRetry", () => {
  it("returns the defaults for undefined, as a copy", () => {
    const resolved = resolveRetry(undefined);
    expect(resolved).toEqual({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 3000 });
    expect(resolved).not.toBe(DEFAULT_RETRY);
    expect(resolveRetry({})).toEqual(DEFAULT_RETRY);
  });

  it("fills in missing fields from the defaults given", () => {
    expect(resolveRetry({ maxAttempts: 5 })).toEqual({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 3000 });
    const defaults = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
    expect(resolveRetry({ baseDelayMs: 10, maxDelayMs: 20 }, defaults)).toEqual({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 });
    expect(resolveRetry(undefined, defaults)).toEqual(defaults);
  });

  it("checks the delays after merging with the defaults: a base delay above the default cap is refused", () => {
    expect(() => resolveRetry({ baseDelayMs: 5000 })).toThrow(RangeError);
    expect(() => resolveRetry({ baseDelayMs: 5000 })).toThrow("retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)");
    expect(() => resolveRetry({ baseDelayMs: 5000, maxDelayMs: 4000 })).toThrow("retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 4000)");
    expect(resolveRetry({ baseDelayMs: 5000, maxDelayMs: 5000 })).toEqual({ maxAttempts: 3, baseDelayMs: 5000, maxDelayMs: 5000 });
    // Against other defaults (a class's static options), the same rule.
    expect(() => resolveRetry({ maxDelayMs: 50 }, { maxAttempts: 2, baseDelayMs: 60, maxDelayMs: 100 })).toThrow(
      "retry.baseDelayMs must be <= retry.maxDelayMs (60 > 50)",
    );
  });

  it("accepts the edges of the ranges", () => {
    expect(resolveRetry({ maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 })).toEqual({ maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
    expect(resolveRetry({ maxAttempts: 1000 }).maxAttempts).toBe(1000);
  });

  it.each([
    [{ maxAttempts: 0 }, RangeError, "retry.maxAttempts must be >= 1, got 0"],
    [{ maxAttempts: 1001 }, RangeError, "retry.maxAttempts must be <= 1000, got 1001"],
    [{ maxAttempts: 2.5 }, RangeError, "retry.maxAttempts must be an integer, got 2.5"],
    [{ maxAttempts: Number.NaN }, RangeError, "retry.maxAttempts must be >= 1, got NaN"],
    [{ maxAttempts: "3" }, TypeError, 'retry.maxAttempts must be a number, got "3"'],
    [{ baseDelayMs: -1 }, RangeError, "retry.baseDelayMs must be a finite number >= 0, got -1"],
    [{ baseDelayMs: Number.POSITIVE_INFINITY }, RangeError, "retry.baseDelayMs must be a finite number >= 0, got Infinity"],
    [{ baseDelayMs: "100ms" }, TypeError, 'retry.baseDelayMs must be a number, got "100ms"'],
    [{ maxDelayMs: 50 }, RangeError, "retry.baseDelayMs must be <= retry.maxDelayMs (100 > 50)"],
    [{ maxDelayMs: Number.POSITIVE_INFINITY }, RangeError, "retry.maxDelayMs must be a finite number >= 0, got Infinity"],
    [{ maxDelayMs: null }, TypeError, "retry.maxDelayMs must be a number, got null"],
    [{ attempts: 3 }, TypeError, 'retry has an unknown option "attempts"; expected maxAttempts, baseDelayMs, maxDelayMs'],
  ])("refuses %o", (options, type, message) => {
    const attempt = () => resolveRetry(options as unknown as RetryOptions);
    expect(attempt).toThrow(type);
    expect(attempt).toThrow(message);
  });

  it("refuses values that are not objects", () => {
    expect(() => resolveRetry(3 as unknown as RetryOptions)).toThrow(TypeError);
    expect(() => resolveRetry(null as unknown as RetryOptions)).toThrow("retry must be an object");
    expect(() => resolveRetry([] as unknown as RetryOptions)).toThrow("got an array");
  });
});

describe("backoffDelay", () => {
  const retry = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 3000 };

  it("stays within [d/2, d] for the whole random range", () => {
    expect(backoffDelay(1, retry, low)).toBe(50);
    expect(backoffDelay(1, retry, high)).toBe(100);
    expect(backoffDelay(1, retry, () => 0.5)).toBe(75);
    for (let i = 0; i <= 100; i++) {
      const delay = backoffDelay(1, retry, () => i / 100);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(100);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });

  it("doubles with each failure", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, retry, high))).toEqual([100, 200, 400, 800, 1600]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, retry, low))).toEqual([50, 100, 200, 400, 800]);
  });

  it("is capped at maxDelayMs, even after very many failures", () => {
    expect(backoffDelay(6, retry, high)).toBe(3000);
    expect(backoffDelay(6, retry, low)).toBe(1500);
    expect(backoffDelay(1000, retry, high)).toBe(3000);
    expect(backoffDelay(5000, retry, low)).toBe(1500);
  });

  it("is 0 with a zero base delay", () => {
    const none = { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
    expect(backoffDelay(1, none, high)).toBe(0);
    expect(backoffDelay(5000, none, high)).toBe(0);
  });

  it("keeps out-of-range random values within the bounds", () => {
    expect(backoffDelay(1, retry, () => -1)).toBe(50);
    expect(backoffDelay(1, retry, () => 2)).toBe(100);
  });

  it("uses Math.random by default", () => {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(2, DEFAULT_RETRY);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(200);
    }
  });

  it("refuses a failure count below 1", () => {
    expect(() => backoffDelay(0, retry)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, retry)).toThrow("failedAttempts must be an integer >= 1, got 1.5");
  });
});
