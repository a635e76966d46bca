/**
 * When the OTLP exporter retries: a `Retry-After` in either of its forms, and an exponential backoff
 * with jitter under its cap.
 */
import { describe, expect, it } from "vitest";
import { backoffMs, MAX_RETRY_DELAY_MS } from "../../../src/observability/traces/otlp-retry.ts";
import { retryAfterMs } from "../../../src/web/retry-after.ts";

const NOW = Date.parse("2015-10-21T07:27:00Z");

describe("Retry-After", () => {
  it("reads delay-seconds", () => {
    expect(retryAfterMs("0", NOW)).toBe(0);
    expect(retryAfterMs(" 120 ", NOW)).toBe(120_000);
  });

  it("reads an HTTP-date in each of its three forms, a date past being no wait", () => {
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", NOW)).toBe(60_000);
    expect(retryAfterMs("Wednesday, 21-Oct-15 07:27:30 GMT", NOW)).toBe(30_000);
    expect(retryAfterMs("Wed Oct 21 07:27:10 2015", NOW)).toBe(10_000);
    expect(retryAfterMs("Tue, 20 Oct 2015 07:28:00 GMT", NOW)).toBe(0);
  });

  it("ignores what is neither", () => {
    for (const header of [null, "", "-5", "1.5", "soon", "5 apples", "2015-10-21T07:28:00Z"]) expect(retryAfterMs(header, NOW)).toBeUndefined();
  });
});

describe("backoff", () => {
  it("doubles from the base up to the cap, keeping at least half of each wait", () => {
    expect([0, 1, 2, 3].map((attempt) => backoffMs(1_000, attempt, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([0, 1, 2, 3].map((attempt) => backoffMs(1_000, attempt, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(1_000, 10, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffMs(1_000, 10, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });

  it("spreads exporters that failed together", () => {
    const waits = new Set(Array.from({ length: 20 }, () => backoffMs(1_000, 2)));
    expect(waits.size).toBeGreaterThan(1);
    for (const wait of waits) expect(wait >= 2_000 && wait <= 4_000).toBe(true);
  });
});
