import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openRateLimitStore, RateLimiter, type RateLimitOptions } from "../../src/ratelimit/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { freshStore, tempDir, virtualClock } from "./setup.ts";

async function message(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a rejection");
}

describe("rate limit errors", () => {
  it("refuses options that are not an object", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    for (const bad of [undefined, null, "key", 5]) {
      expect(await message(limiter.limit(bad as unknown as RateLimitOptions))).toBe("invalid rate limit options");
    }
  });

  it("names unknown options", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    expect(await message(limiter.limit({ key: "k", cost: 2 } as RateLimitOptions))).toBe("bad rate limit options: [cost]");
    expect(await message(limiter.limit({ user: "u", ip: "x" } as RateLimitOptions))).toBe("bad rate limit options: [user,ip]");
  });

  it("refuses a key that is not a string, and bad overrides", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    expect(await message(limiter.limit({ key: 42 as unknown as string }))).toBe("invalid key: 42");
    expect(await message(limiter.limit({ key: "k", limit: "5" as unknown as number }))).toBe("limit must be a number: 5");
    expect(await message(limiter.limit({ key: "k", period: "60" as unknown as number }))).toBe("period must be a number: 60");
    expect(await message(limiter.limit({ key: "k", period: 30 }))).toBe("unsupported period: 30");
    // None of them counted.
    expect(await limiter.limit({ key: "k" })).toEqual({ success: true });
  });

  it("refuses a limiter with a bad period, limit or namespace id", () => {
    const { store } = freshStore();
    expect(() => new RateLimiter(store, { namespaceId: "1", limit: 1, period: 15 })).toThrow("unsupported period: 15");
    expect(() => new RateLimiter(store, { namespaceId: "1", limit: 0, period: 10 })).toThrow("RateLimiter: limit must be a positive integer, got 0");
    expect(() => new RateLimiter(store, { namespaceId: "1", limit: 1.5, period: 10 })).toThrow("RateLimiter: limit must be a positive integer, got 1.5");
    expect(() => new RateLimiter(store, { namespaceId: "", limit: 1, period: 10 })).toThrow('RateLimiter: namespaceId must be a non-empty string, got ""');
  });

  it("rejects calls once the store is closed", async () => {
    const { store, path } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    store.close();
    expect(await message(limiter.limit({ key: "k" }))).toBe(`Rate limit store ${path} is closed`);
    expect(() => new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 })).toThrow(`Rate limit store ${path} is closed`);
  });

  it("shares one open file per path, and refuses a second opening with another clock", async () => {
    const path = join(tempDir(), "rl.sqlite");
    const clock = virtualClock();
    const a = openRateLimitStore(path, { clock });
    const b = openRateLimitStore(path, { clock });
    const viaA = new RateLimiter(a, { namespaceId: "1", limit: 1, period: 60 });
    const viaB = new RateLimiter(b, { namespaceId: "1", limit: 1, period: 60 });
    expect(await viaA.limit({ key: "k" })).toEqual({ success: true });
    expect(await viaB.limit({ key: "k" })).toEqual({ success: false });
    a.close();
    expect(await viaB.limit({ key: "j" })).toEqual({ success: true });
    const other = new VirtualClock();
    try {
      expect(() => openRateLimitStore(path, { clock: other })).toThrow(`Rate limit store ${path} is already open with another clock`);
    } finally {
      other.dispose();
    }
  });
});
