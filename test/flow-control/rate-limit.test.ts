import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { rateLimit, RateLimitedError } from "../../src/flow-control/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { openRateLimitStore, RateLimiter } from "../../src/ratelimit/index.ts";
import { rejectionOf, sqliteExecutor, START, tempDir, virtualClock } from "./setup.ts";

/** The outcomes of `n` calls as "+" (ran) and "-" (refused). */
async function outcomes(run: () => Promise<unknown>, n: number): Promise<string> {
  let out = "";
  for (let i = 0; i < n; i++) out += await run().then(() => "+", (error: unknown) => (error instanceof RateLimitedError ? "-" : Promise.reject(error)));
  return out;
}

describe("rateLimit with a counter in SQLite", () => {
  it("admits `limit` at once, then one every periodMs / limit; the excess is dropped with retryAfterMs", async () => {
    const clock = virtualClock();
    const { sql } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const control = rateLimit<string>({ limit: 3, periodMs: 60_000, key: (user) => user, storage: sql, clock });
    let runs = 0;
    const call = (user: string) => control.run(user, () => ++runs);
    expect(await outcomes(() => call("alice"), 3)).toBe("+++");
    const error = await rejectionOf(call("alice"));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: "rate_limited", status: 429, key: "alice", retryAfterMs: 20_000 });
    expect((error as Error).message).toBe('Rate limit reached for key "alice" (3 per 60000 ms); retry after 20 s');
    expect(runs).toBe(3); // a dropped call does not run
    expect(await outcomes(() => call("bob"), 4)).toBe("+++-");
    await clock.advance(19_999);
    expect(await outcomes(() => call("alice"), 1)).toBe("-");
    await clock.advance(1);
    expect(await outcomes(() => call("alice"), 2)).toBe("+-");
    await clock.advance("1 minute");
    expect(await outcomes(() => call("alice"), 4)).toBe("+++-");
  });

  it("does not count refused calls", async () => {
    const clock = virtualClock();
    const { sql } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const control = rateLimit({ limit: 2, periodMs: 10_000, storage: sql, clock });
    expect(await outcomes(() => control.run(null, () => "ok"), 50)).toBe("++" + "-".repeat(48));
    await clock.advance(5000);
    expect(await outcomes(() => control.run(null, () => "ok"), 2)).toBe("+-");
  });

  it("keeps its counts across a restart (a new process opening the same file)", async () => {
    const clock = virtualClock();
    const path = join(tempDir(), "agent.sqlite");
    const first = sqliteExecutor(path);
    const options = { limit: 2, periodMs: 60_000, key: "alice", clock };
    expect(await outcomes(() => rateLimit({ ...options, storage: first.sql }).run(null, () => "ok"), 1)).toBe("+");
    first.db.close();
    const again = sqliteExecutor(path);
    expect(await outcomes(() => rateLimit({ ...options, storage: again.sql }).run(null, () => "ok"), 2)).toBe("+-");
  });

  it("keeps counters of different names apart, and shares those of one name", async () => {
    const clock = virtualClock();
    const { sql } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const chat = rateLimit({ limit: 1, periodMs: 60_000, name: "chat", storage: sql, clock });
    const chatToo = rateLimit({ limit: 1, periodMs: 60_000, name: "chat", storage: sql, clock });
    const search = rateLimit({ limit: 1, periodMs: 60_000, name: "search", storage: sql, clock });
    expect(await outcomes(() => chat.run(null, () => 1), 1)).toBe("+");
    expect(await outcomes(() => chatToo.run(null, () => 1), 1)).toBe("-");
    expect(await outcomes(() => search.run(null, () => 1), 1)).toBe("+");
  });

  it("deletes rows of keys whose bucket is full again, once every 256 calls", async () => {
    const clock = virtualClock();
    const { sql, db } = sqliteExecutor(join(tempDir(), "agent.sqlite"));
    const control = rateLimit<number>({ limit: 1, periodMs: 1000, key: (i) => `user:${i}`, storage: sql, clock });
    for (let i = 0; i < 255; i++) await control.run(i, () => i);
    expect(db.prepare("SELECT COUNT(*) AS n FROM _hearth_flow_rate_limits").get()!.n).toBe(255);
    await clock.advance(1000);
    await control.run(1000, () => 0);
    expect(db.prepare("SELECT COUNT(*) AS n FROM _hearth_flow_rate_limits").get()!.n).toBe(1);
  });

  it("needs storage outside an agent", async () => {
    const control = rateLimit({ limit: 1, periodMs: 1000 });
    await expect(control.run(null, () => 1)).rejects.toThrow(
      "rateLimit: no storage for the counter: pass `storage` (ctx.storage.sql) or call run() from inside an agent's event",
    );
  });

  it("checks its options with errors that name the limit", () => {
    expect(() => rateLimit({ limit: 0, periodMs: 1000 })).toThrow("rateLimit: limit must be an integer from 1 to 100000, got 0");
    expect(() => rateLimit({ limit: 1, periodMs: 1.5 })).toThrow("rateLimit: periodMs must be an integer from 1 to 604800000, got 1.5");
    expect(() => rateLimit({ limit: 1, periodMs: 1000, name: "" })).toThrow("rateLimit: name must be a non-empty string of at most 1024 characters");
    expect(() => rateLimit({ limit: 1, periodMs: 1000, period: 60 } as never)).toThrow(
      "rateLimit: unknown option period (known: limit, periodMs, key, name, storage, clock)",
    );
  });
});

/** Calls of an agent's limited work per user, for the tests below. */
const ranFor = new Map<string, number>();
const perUser = rateLimit<string>({ limit: 2, periodMs: 60_000, key: (user) => user });

class Limited extends Agent {
  async call(user: string, fail: boolean): Promise<string> {
    return perUser.run(user, () => {
      ranFor.set(user, (ranFor.get(user) ?? 0) + 1);
      if (fail) throw new Error("handler failed");
      return "ok";
    });
  }
  /** A limited call inside a ctx.storage.transaction() closure that is then undone. */
  async undone(user: string): Promise<string> {
    try {
      await this.ctx.storage.transaction(async () => {
        await perUser.run(user, () => "ok");
        throw new Error("undo");
      });
    } catch (error) {
      return (error as Error).message;
    }
    return "kept";
  }
  /** A limited call started inside a transactionSync() block (its take runs there, synchronously). */
  inSyncBlock(user: string): Promise<string> {
    let call!: Promise<string>;
    this.ctx.storage.transactionSync(() => {
      call = perUser.run(user, () => "ok");
    });
    return call;
  }
}

/** What a call ended with: its value, or its error's message. */
const outcome = (call: Promise<string>): Promise<string> => call.then(String, (error: Error) => error.message);

describe("rateLimit with the counter in the running agent's own SQLite", () => {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    ranFor.clear();
  });

  it("counts admitted calls whose work fails, durably, and keeps serving other keys", async () => {
    t = await createTestEnv({ agents: { Limited } });
    const agent = t.get<Limited>("Limited", "a1");
    const out: string[] = [];
    for (let i = 0; i < 4; i++) out.push(await outcome(agent.call("alice", true)));
    for (let i = 0; i < 3; i++) out.push(await outcome(agent.call("bob", false)));
    const refused = (user: string) => `Rate limit reached for key "${user}" (2 per 60000 ms); retry after 30 s`;
    expect(out).toEqual(["handler failed", "handler failed", refused("alice"), refused("alice"), "ok", "ok", refused("bob")]);
    expect(Object.fromEntries(ranFor)).toEqual({ alice: 2, bob: 2 });
    // The counts were committed, not left to a transaction the failed events rolled back.
    await t.restart();
    expect(await outcome(t.get<Limited>("Limited", "a1").call("alice", false))).toBe(refused("alice"));
    expect(ranFor.get("alice")).toBe(2);
  });

  it("makes its table again when a rollback took it away", async () => {
    t = await createTestEnv({ agents: { Limited } });
    const agent = t.get<Limited>("Limited", "a2");
    // The first take creates the table inside the closure; undoing the closure drops it (and the count).
    expect(await agent.undone("alice")).toBe("undo");
    expect(await outcome(agent.call("bob", false))).toBe("ok");
    expect(await outcome(agent.call("alice", false))).toBe("ok");
    expect(await outcome(agent.call("alice", false))).toBe("ok");
    expect(await outcome(agent.call("alice", false))).toContain('Rate limit reached for key "alice"');
  });

  it("does not commit inside a transactionSync() block", async () => {
    t = await createTestEnv({ agents: { Limited } });
    const agent = t.get<Limited>("Limited", "a3");
    expect(await agent.inSyncBlock("alice")).toBe("ok");
    expect(await agent.inSyncBlock("alice")).toBe("ok");
    expect(await outcome(agent.inSyncBlock("alice"))).toContain('Rate limit reached for key "alice"');
  });
});

describe("rateLimit through a Rate Limiting binding", () => {
  function binding(limit: number, period: 10 | 60) {
    const clock = virtualClock();
    const store = openRateLimitStore(join(tempDir(), "ratelimit.sqlite"), { clock });
    return { clock, limiter: new RateLimiter(store, { namespaceId: "1001", limit, period }) };
  }

  it("drops calls the binding refuses, with retryAfterMs up to the end of the binding's window", async () => {
    const { clock, limiter } = binding(2, 10);
    const control = rateLimit<string>({ limiter, periodSeconds: 10, key: (user) => user, clock });
    await clock.advance(2500);
    expect(await outcomes(() => control.run("alice", () => "ok"), 2)).toBe("++");
    const error = await rejectionOf(control.run("alice", () => "ok"));
    expect(error).toMatchObject({ code: "rate_limited", status: 429, key: "alice", retryAfterMs: 7500 });
    expect((error as Error).message).toBe('Rate limit reached for key "alice"; retry after 8 s');
    expect(await outcomes(() => control.run("bob", () => "ok"), 1)).toBe("+");
    await clock.advance(7499);
    expect(await outcomes(() => control.run("alice", () => "ok"), 1)).toBe("-");
    await clock.advance(1);
    expect(await outcomes(() => control.run("alice", () => "ok"), 3)).toBe("++-");
  });

  it("assumes a 60 s window when periodSeconds is not given", async () => {
    const { clock, limiter } = binding(1, 60);
    const control = rateLimit({ limiter, clock });
    await clock.advanceTo(START + 45_000);
    await control.run(null, () => "ok");
    await expect(control.run(null, () => "ok")).rejects.toMatchObject({ retryAfterMs: 15_000 });
  });

  it("checks its options", () => {
    const { limiter } = binding(1, 60);
    expect(() => rateLimit({ limiter, periodSeconds: 30 as 60 })).toThrow("rateLimit: periodSeconds must be 10 or 60, got 30");
    expect(() => rateLimit({ limiter: {} as never })).toThrow("rateLimit: limiter must be a Rate Limiting binding (an object with limit({ key }))");
    expect(() => rateLimit({ limiter, limit: 5 } as never)).toThrow("rateLimit: unknown option limit (known: limiter, key, periodSeconds, clock)");
  });
});
