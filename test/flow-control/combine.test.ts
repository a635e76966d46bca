import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { combine, concurrency, debounce, rateLimit, RateLimitedError, singleton, throttle } from "../../src/flow-control/index.ts";
import { deferred, flush, rejectionOf, sqliteExecutor, tempDir, virtualClock } from "./setup.ts";

describe("combine", () => {
  it("applies controls in Inngest's order whatever order they are given in", () => {
    const clock = virtualClock();
    const { sql } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const combined = combine(
      concurrency({ limit: 1 }),
      throttle({ limit: 1, periodMs: 1000, clock }),
      singleton({ mode: "skip" }),
      debounce({ periodMs: 100, clock }),
      rateLimit({ limit: 1, periodMs: 1000, storage: sql, clock }),
      concurrency({ limit: 5 }),
    );
    expect(combined.kinds).toEqual(["rateLimit", "debounce", "singleton", "throttle", "concurrency", "concurrency"]);
    // A combined control inside another is taken apart, so the order holds across nesting.
    expect(combine(concurrency({ limit: 1 }), combine(throttle({ limit: 1, periodMs: 1000, clock }), rateLimit({ limit: 1, periodMs: 1000, storage: sql, clock }))).kinds).toEqual([
      "rateLimit",
      "throttle",
      "concurrency",
    ]);
  });

  it("drops a rate-limited call at once instead of queueing it behind a busy concurrency slot", async () => {
    const clock = virtualClock();
    const { sql } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const entry = combine<string>(concurrency({ limit: 1, key: (u) => u }), rateLimit({ limit: 2, periodMs: 60_000, key: (u) => u, storage: sql, clock }));
    const gate = deferred();
    const started: string[] = [];
    const work = async (user: string) => {
      started.push(user);
      await gate.promise;
      return user;
    };
    const first = entry.run("alice", work);
    const queued = entry.run("alice", work); // admitted by the rate limit, waits for the slot
    expect(await rejectionOf(entry.run("alice", work))).toBeInstanceOf(RateLimitedError);
    await flush();
    expect(started).toEqual(["alice"]);
    gate.resolve();
    expect([await first, await queued]).toEqual(["alice", "alice"]);
  });

  it("runs a debounced batch once, taking one concurrency slot, with the last input", async () => {
    const clock = virtualClock();
    const entry = combine<string>(concurrency({ limit: 1 }), debounce({ periodMs: 100, clock }));
    const runs: string[] = [];
    const calls = ["a", "ab", "abc"].map((text) => entry.run(text, (text) => (runs.push(text), text.length)));
    await clock.advance(100);
    expect(await Promise.all(calls)).toEqual([3, 3, 3]);
    expect(runs).toEqual(["abc"]);
  });

  it("lets a call wait for the throttle without holding a concurrency slot", async () => {
    const clock = virtualClock();
    // Per-user throttle, one global concurrency slot: a throttled alice must not block bob.
    const entry = combine<string>(concurrency({ limit: 1 }), throttle({ limit: 1, periodMs: 1000, key: (u) => u, clock }));
    const started: string[] = [];
    const gate = deferred();
    const first = entry.run("alice", async (user) => {
      started.push(user);
      await gate.promise;
      return user;
    });
    const work = (user: string) => (started.push(user), user);
    const calls = [entry.run("alice", work), entry.run("bob", work)];
    await clock.settle();
    gate.resolve();
    await first;
    await clock.settle();
    // Had the second alice taken the slot first, bob would wait for her throttle (1 s).
    expect(started).toEqual(["alice", "bob"]);
    await clock.advance(1000);
    expect(await Promise.all(calls)).toEqual(["alice", "bob"]);
    expect(started).toEqual(["alice", "bob", "alice"]);
  });

  it("passes a caller's abort through every layer", async () => {
    const clock = virtualClock();
    const entry = combine<string>(concurrency({ limit: 1 }), throttle({ limit: 10, periodMs: 1000, clock }));
    const gate = deferred();
    const first = entry.run("1", () => gate.promise);
    const stop = new AbortController();
    const waiting = entry.run("2", () => "never", { signal: stop.signal });
    stop.abort(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
    gate.resolve();
    await first;
  });

  it("refuses what is not a flow control", () => {
    expect(() => combine({} as never)).toThrow(
      "combine: every argument must be a flow control (concurrency, throttle, rateLimit, debounce, singleton or combine)",
    );
    expect(() => combine({ kinds: ["throttle", "concurrency"], run: () => Promise.resolve() } as never)).toThrow(
      "combine: a control with several kinds must come from combine()",
    );
  });
});
