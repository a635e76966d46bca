/**
 * runFiber, stash and keepAlive in one process: the fiber's row exists exactly while it runs, its
 * checkpoints are durable when stash returns, concurrent fibers keep their own checkpoints, the agent
 * stays in memory while a fiber runs, and bad input gets a clear error.
 */
import { describe, expect, it } from "vitest";
import { Agent, Host, type FiberContext } from "../../src/index.ts";
import { FIBER_LIMITS } from "../../src/fiber/limits.ts";
import { tempDir } from "../support/harness.ts";
import { envPerTest, Gates, type StoredFiber } from "./helpers.ts";

const gates = new Gates();
const reported: string[] = [];

class Worker extends Agent {
  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  /** Awaited inline: the caller gets the function's value. */
  async compute(x: number) {
    return this.runFiber("compute", async (ctx) => {
      ctx.stash({ x });
      return { id: ctx.id, doubled: x * 2, snapshotWhileRunning: ctx.snapshot };
    });
  }

  /** Fire-and-forget: runs until the test opens its gate. */
  begin(name: string, checkpoints: unknown[] = []) {
    void this.runFiber(name, async (ctx: FiberContext) => {
      for (const checkpoint of checkpoints) ctx.stash(checkpoint);
      await gates.get(name).promise;
    });
  }

  /** Two fibers whose nested code calls `this.stash()`, interleaved: each must land on its own row. */
  beginPair() {
    const step = async (name: string, other: string) => {
      this.stash({ by: name, step: 1 });
      gates.get(`${name}:1`).open();
      await gates.get(`${other}:1`).promise; // both have stashed once before either goes on
      this.stash({ by: name, step: 2 });
      gates.get(`${name}:2`).open();
      await gates.get("pair-end").promise;
    };
    void this.runFiber("left", () => step("left", "right"));
    void this.runFiber("right", () => step("right", "left"));
  }

  async failing(message: string) {
    return this.runFiber("failing", () => Promise.reject(new Error(message)));
  }

  fireAndForgetFailure(message: string) {
    void this.runFiber("background", async () => {
      await gates.get("fail-later").promise;
      throw new Error(message);
    });
  }

  stashOutside() {
    this.stash({ nope: true });
  }

  async badStash(kind: "bigint" | "huge") {
    return this.runFiber("bad", async (ctx) => {
      if (kind === "bigint") ctx.stash({ n: 1n });
      else ctx.stash("x".repeat(FIBER_LIMITS.maxFiberSnapshotBytes));
    });
  }

  async badName(name: unknown) {
    return this.runFiber(name as string, () => Promise.resolve());
  }

  async manyAtOnce(count: number) {
    const release = gates.get("many");
    for (let i = 0; i < count; i++) void this.runFiber(`n${i}`, () => release.promise);
    // Caught: an event that fails takes the fibers it started with it.
    return this.runFiber("one-too-many", () => Promise.resolve("ran")).catch((error: Error) => error.message);
  }

  rows(): StoredFiber[] {
    return this.sql<StoredFiber>`SELECT id, name, status, snapshot FROM _hearth_fibers ORDER BY created_at, name`;
  }
}

/** Fiber options out of range: refused when the host starts, naming the option. */
class TooEager extends Agent {
  static options = { keepAliveIntervalMs: 1 };
}
class NegativeAge extends Agent {
  static options = { fiberRecoveryMaxAgeMs: -1 };
}
class NoDeadline extends Agent {
  static options = { fiberRecoveryScanDeadlineMs: "10s" };
}

const env = envPerTest({ agents: { Worker } }, () => {
  gates.clear();
  reported.length = 0;
});

describe("runFiber", () => {
  it("returns the function's value and forgets the fiber once it ends", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    const result = await w.compute(21);
    expect(result).toEqual({ id: expect.any(String) as string, doubled: 42, snapshotWhileRunning: null });
    expect(await w.rows()).toEqual([]);
  });

  it("records the fiber and its latest checkpoint while it runs", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await w.begin("job", [{ step: 1 }, { step: 2, items: ["a", "b"] }]);
    expect(await w.rows()).toEqual([
      { id: expect.any(String) as string, name: "job", status: "running", snapshot: JSON.stringify({ step: 2, items: ["a", "b"] }) },
    ]);
    gates.get("job").open();
    await expect.poll(() => w.rows()).toEqual([]);
  });

  it("this.stash() writes to the fiber running the code, with concurrent fibers", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await w.beginPair();
    await Promise.all([gates.get("left:2").promise, gates.get("right:2").promise]);
    const rows = await w.rows();
    expect(rows.map((row) => [row.name, JSON.parse(row.snapshot!) as unknown])).toEqual([
      ["left", { by: "left", step: 2 }],
      ["right", { by: "right", step: 2 }],
    ]);
    gates.get("pair-end").open();
    await expect.poll(() => w.rows()).toEqual([]);
    expect(reported).toEqual([]);
  });

  it("passes a failure to the awaiting caller and to onError", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await expect(w.failing("boom")).rejects.toThrow("boom");
    expect(reported).toContainEqual(expect.stringContaining('Fiber "failing" failed: boom'));
    expect(await w.rows()).toEqual([]);
  });

  it("a fire-and-forget fiber that fails reaches onError instead of crashing the process", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await w.fireAndForgetFailure("later");
    gates.get("fail-later").open();
    await expect.poll(() => reported).toContainEqual(expect.stringContaining('Fiber "background" failed: later'));
    expect(await w.rows()).toEqual([]);
  });

  it("keeps the agent in memory while a fiber runs, and lets it hibernate after", async () => {
    const t = await env();
    const w = t.get<Worker>("Worker", "a");
    await w.begin("long");
    expect(t.hibernate()).toBe(0);
    expect(t.host.stats.liveAgents).toBe(1);
    gates.get("long").open();
    await expect.poll(() => w.rows()).toEqual([]);
    expect(t.hibernate()).toBe(1);
  });

  it("refuses bad input with clear errors and records nothing", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await expect(w.stashOutside()).rejects.toThrow(/stash\(\) was called outside a fiber/);
    await expect(w.badStash("bigint")).rejects.toThrow(/checkpoint must be JSON-serialisable/);
    await expect(w.badStash("huge")).rejects.toThrow(/maxFiberSnapshotBytes/);
    await expect(w.badName("")).rejects.toThrow(/maxFiberNameLength/);
    await expect(w.badName(42)).rejects.toThrow(/name must be a string/);
    expect(await w.rows()).toEqual([]);
  });

  it("refuses fiber options out of range when the host starts, before any agent runs", () => {
    const dir = tempDir();
    try {
      expect(() => new Host({ dataDir: dir.path, agents: { TooEager } })).toThrow(
        /TooEager\.options\.keepAliveIntervalMs must be a number of milliseconds >= 10 \(minKeepAliveIntervalMs\), got 1/,
      );
      expect(() => new Host({ dataDir: dir.path, agents: { NegativeAge } })).toThrow(
        /NegativeAge\.options\.fiberRecoveryMaxAgeMs must be a number of milliseconds >= 0 \(0: retried for ever\), got -1/,
      );
      expect(() => new Host({ dataDir: dir.path, agents: { NoDeadline } })).toThrow(
        /NoDeadline\.options\.fiberRecoveryScanDeadlineMs must be a number of milliseconds >= 0 \(0: no deadline\), got 10s/,
      );
    } finally {
      dir.remove();
    }
  });

  it(`runs at most ${FIBER_LIMITS.maxRunningFibers} fibers at once per agent (maxRunningFibers)`, async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    expect(await w.manyAtOnce(FIBER_LIMITS.maxRunningFibers)).toMatch(/maxRunningFibers/);
    expect(await w.rows()).toHaveLength(FIBER_LIMITS.maxRunningFibers);
    gates.get("many").open();
    await expect.poll(() => w.rows()).toEqual([]);
    gates.clear();
    // With one slot free, the next one runs.
    expect(await w.manyAtOnce(FIBER_LIMITS.maxRunningFibers - 1)).toBe("ran");
    gates.get("many").open();
  });
});
