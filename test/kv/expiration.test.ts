import { describe, expect, it } from "vitest";
import { KvNamespace } from "../../src/kv/index.ts";
import type { Clock } from "../../src/time/clock.ts";
import { freshNamespace, START_SECONDS, storedKeys } from "./setup.ts";

describe("KV expiration", () => {
  it("returns a key until its expiration and never after", async () => {
    const { kv, clock } = freshNamespace();
    await kv.put("ttl", "v", { expirationTtl: 60, metadata: { m: 1 } });
    await kv.put("at", "v", { expiration: START_SECONDS + 120 });
    await kv.put("forever", "v");
    await clock.advance("59 seconds");
    expect(await kv.get("ttl")).toBe("v");
    await clock.advance("1 second");
    expect(await kv.get("ttl")).toBeNull();
    expect(await kv.getWithMetadata("ttl")).toEqual({ value: null, metadata: null, cacheStatus: null });
    expect([...(await kv.get(["ttl", "at"]))]).toEqual([
      ["ttl", null],
      ["at", "v"],
    ]);
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["at", "forever"]);
    await clock.advance("60 seconds");
    expect(await kv.get("at")).toBeNull();
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["forever"]);
  });

  it("purges expired keys from the file in the background", async () => {
    const { kv, clock, path } = freshNamespace();
    await Promise.all(Array.from({ length: 30 }, (_, i) => kv.put(`short:${i}`, "v", { expirationTtl: 60 + i })));
    await kv.put("long", "v", { expirationTtl: 3600 });
    await kv.put("forever", "v");
    // Nothing is read after the keys expire: only the purge timer can remove them.
    await clock.advance("2 minutes");
    kv.close();
    expect(storedKeys(path)).toEqual(["forever", "long"]);
  });

  it("purges more than one batch of keys that expire together", async () => {
    const { kv, clock, path } = freshNamespace();
    await Promise.all(Array.from({ length: 2500 }, (_, i) => kv.put(`k${i}`, "v", { expirationTtl: 60 })));
    await kv.put("keep", "v");
    await clock.advance("61 seconds");
    kv.close();
    expect(storedKeys(path)).toEqual(["keep"]);
  });

  it("arms the purge for an expiration earlier than the one already armed", async () => {
    const { kv, clock, path } = freshNamespace();
    await kv.put("late", "v", { expirationTtl: 86_400 });
    await kv.put("early", "v", { expirationTtl: 60 });
    await clock.advance("2 minutes");
    kv.close();
    expect(storedKeys(path)).toEqual(["late"]);
  });

  it("purges keys that expired while the namespace was closed, once reopened", async () => {
    const { kv, clock, path } = freshNamespace();
    await kv.put("k", "v", { expirationTtl: 60 });
    kv.close();
    await clock.advance("5 minutes");
    const again = new KvNamespace({ path, clock });
    await clock.settle();
    again.close();
    expect(storedKeys(path)).toEqual([]);
  });

  it("deletes an expired key a read finds before the purge does", async () => {
    // A clock whose timers never fire: only the read can remove the key.
    let now = START_SECONDS * 1000;
    const frozenTimers: Clock = { now: () => now, setTimer: () => () => {} };
    const { kv, path } = freshNamespace({ clock: frozenTimers });
    await kv.put("k", "v", { expirationTtl: 60 });
    await kv.put("other", "v", { expirationTtl: 60 });
    now += 61_000;
    expect(await kv.get("k")).toBeNull();
    await new Promise((resolve) => setImmediate(resolve)); // the turn's commit
    kv.close();
    expect(storedKeys(path)).toEqual(["other"]);
  });

  it("keeps a key rewritten without expiration after the old one's time", async () => {
    const { kv, clock } = freshNamespace();
    await kv.put("k", "old", { expirationTtl: 60 });
    await kv.put("k", "new");
    await clock.advance("2 minutes");
    expect(await kv.get("k")).toBe("new");
  });

  it("keeps no timer armed when no key expires", async () => {
    const { kv, clock } = freshNamespace();
    await kv.put("k", "v", { expirationTtl: 60 });
    expect(clock.pendingTimers).toBe(1);
    await clock.advance("61 seconds");
    expect(clock.pendingTimers).toBe(0);
    kv.close();
  });
});
