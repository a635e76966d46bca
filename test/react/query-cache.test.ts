/**
 * The cache behind `useAgent`'s async `query` (`queryDeps`, `cacheTtl`): when the query function
 * runs again and when its result is reused. Timers and the clock are fake, so expiry is exact.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { QueryParams } from "../../src/client/agent-fetch.ts";
import { DEFAULT_QUERY_CACHE_TTL_MS, QueryCache } from "../../src/react/query-cache.ts";

function setup(ttl: number, tokens: Array<string | Error> = []) {
  const source = { key: "desk/a", ttl, calls: 0 };
  const expired: number[] = [];
  const query = async (): Promise<QueryParams> => {
    const next = tokens[source.calls++] ?? `t-${source.calls}`;
    if (next instanceof Error) throw next;
    return { token: next };
  };
  const cache = new QueryCache(
    () => ({ query, key: source.key, ttl: source.ttl }),
    () => expired.push(Date.now()),
  );
  return { cache, source, expired };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("QueryCache", () => {
  test("reuses a result within cacheTtl and calls the function again for a new key (queryDeps)", async () => {
    const { cache, source } = setup(1_000);
    expect(await cache.provider()).toEqual({ token: "t-1" });
    expect(await cache.provider()).toEqual({ token: "t-1" });
    expect(source.calls).toBe(1);
    source.key = "desk/b";
    expect(await cache.provider()).toEqual({ token: "t-2" });
    expect(source.calls).toBe(2);
  });

  test("a result past cacheTtl is not reused, and its expiry is reported once", async () => {
    const { cache, source, expired } = setup(1_000);
    const start = Date.now();
    await cache.provider();
    await vi.advanceTimersByTimeAsync(999);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual([start + 1_000]);
    expect(await cache.provider()).toEqual({ token: "t-2" });
    expect(source.calls).toBe(2);
  });

  test("cacheTtl of 0 calls the function for every connection and never expires", async () => {
    const { cache, source, expired } = setup(0);
    await cache.provider();
    await cache.provider();
    await vi.advanceTimersByTimeAsync(DEFAULT_QUERY_CACHE_TTL_MS);
    expect(source.calls).toBe(2);
    expect(expired).toEqual([]);
  });

  test("invalidate (a dropped connection) makes the next connection call the function", async () => {
    const { cache, source, expired } = setup(1_000);
    await cache.provider();
    cache.invalidate();
    expect(await cache.provider()).toEqual({ token: "t-2" });
    expect(source.calls).toBe(2);
    // Only the current result's expiry counts.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(expired).toHaveLength(1);
  });

  test("refresh says whether the parameters changed, and the fresh result serves the next connection", async () => {
    const { cache, source } = setup(1_000, ["same", "same", "new"]);
    await cache.provider();
    expect(await cache.refresh()).toBe(false);
    expect(await cache.refresh()).toBe(true);
    expect(await cache.provider()).toEqual({ token: "new" });
    expect(source.calls).toBe(3);
  });

  test("a failing query function is called again by the next attempt; a failed refresh changes nothing", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { cache, source } = setup(1_000, [new Error("offline"), "t-ok", new Error("offline again")]);
    await expect(cache.provider()).rejects.toThrow("offline");
    expect(await cache.provider()).toEqual({ token: "t-ok" });
    expect(await cache.refresh()).toBe(false);
    expect(await cache.provider()).toEqual({ token: "t-4" });
    expect(source.calls).toBe(4);
    expect(error).toHaveBeenCalledTimes(2);
  });

  test("stop ends expiry reports (unmount); start resumes them from the next result (Strict Mode's remount)", async () => {
    const { cache, expired } = setup(1_000);
    await cache.provider();
    cache.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(expired).toEqual([]);
    cache.start();
    await cache.provider();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(expired).toHaveLength(1);
  });

  test("the default cacheTtl is five minutes", () => {
    expect(DEFAULT_QUERY_CACHE_TTL_MS).toBe(300_000);
  });
});
