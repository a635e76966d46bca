/**
 * A recovery hook that keeps failing (a transient outage of what it calls): the fiber is retried on
 * a backoff that doubles from 1 s and is capped at 5 minutes, keeping its row and checkpoint, until
 * it is older than `static options.fiberRecoveryMaxAgeMs` (24 h by default; 0: for ever). Virtual
 * time: each retry is the host waking the hibernated agent at the recorded time.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { FIBER_LIMITS } from "../../src/fiber/limits.ts";
import { envPerTest } from "./helpers.ts";

/** Virtual times at which onFiberRecovered ran, per agent (this module outlives every host). */
const calls = new Map<string, number[]>();
const reported: string[] = [];
const never = new Promise<never>(() => {});

class Fragile extends Agent {
  static options = { keepAliveIntervalMs: 60_000 };

  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  begin() {
    void this.runFiber("sync", async (ctx) => {
      ctx.stash({ cursor: 42 });
      await never;
    });
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    calls.set(this.name, [...(calls.get(this.name) ?? []), Date.now()]);
    throw new Error(`the API is down, cannot recover ${ctx.name}`);
  }

  rows() {
    return this.sql<{ name: string; status: string; snapshot: string | null }>`SELECT name, status, snapshot FROM _hearth_fibers`;
  }
}

class Forever extends Fragile {
  static options = { keepAliveIntervalMs: 60_000, fiberRecoveryMaxAgeMs: 0 };
}

const env = envPerTest({ agents: { Fragile, Forever } }, () => {
  calls.clear();
  reported.length = 0;
});

const callsOf = (agent: string) => calls.get(agent) ?? [];

describe("retrying a failing recovery", () => {
  it("retries on a backoff doubling from 1 s, capped at 5 minutes, keeping the fiber and its checkpoint", async () => {
    const t = await env();
    await t.get<Fragile>("Fragile", "a").begin();
    await t.restart();
    await t.clock.settle();
    expect(callsOf("a")).toHaveLength(1);
    for (let attempt = 2; attempt <= 12; attempt++) {
      // Hibernated, the agent is woken by the host when its retry is due.
      await expect.poll(() => t.hibernate()).toBe(1);
      await t.clock.advanceTo(t.host.nextWake("Fragile", "a")!);
      await expect.poll(() => callsOf("a")).toHaveLength(attempt);
    }
    const at = callsOf("a");
    const gaps = at.slice(1).map((time, i) => time - at[i]!);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
    expect(Math.max(...gaps)).toBe(FIBER_LIMITS.maxFiberRecoveryBackoffMs);
    // Twenty minutes and twelve failures later the fiber is still there to recover.
    expect(await t.get<Fragile>("Fragile", "a").rows()).toEqual([{ name: "sync", status: "interrupted", snapshot: '{"cursor":42}' }]);
    expect(reported).toContainEqual(expect.stringMatching(/onFiberRecovered threw \(attempt 12\); tried again from .*: the API is down/));
  });

  it("gives up once the fiber is older than fiberRecoveryMaxAgeMs (24 h by default): its row goes", async () => {
    const t = await env();
    await t.get<Fragile>("Fragile", "tried").begin();
    await t.restart();
    await t.clock.settle();
    expect(callsOf("tried")).toHaveLength(1); // recovered, and failing, before the 25 hours
    await t.get<Fragile>("Fragile", "fresh").begin(); // first recovered after them
    await t.restart({ downFor: "25 hours" });
    await t.clock.settle();
    // A first recovery always calls the hook; a fiber already tried and now too old is not called again.
    expect(callsOf("fresh")).toHaveLength(1);
    expect(callsOf("tried")).toHaveLength(1);
    for (const name of ["fresh", "tried"]) expect(await t.get<Fragile>("Fragile", name).rows()).toEqual([]);
    expect(reported).toContainEqual(
      expect.stringMatching(/fiber "sync" .* was given up: onFiberRecovered did not succeed within fiberRecoveryMaxAgeMs \(86400000 ms\)/),
    );
    // Nothing is left to wake them for.
    expect(t.host.nextWake("Fragile", "fresh")).toBeNull();
  });

  it("with fiberRecoveryMaxAgeMs: 0 it is retried for ever", async () => {
    const t = await env();
    await t.get<Forever>("Forever", "f").begin();
    await t.restart();
    await t.clock.settle();
    for (let day = 1; day <= 6; day++) {
      await t.restart({ downFor: "1 day" });
      await t.clock.settle();
    }
    expect(callsOf("f")).toHaveLength(7);
    expect(await t.get<Forever>("Forever", "f").rows()).toEqual([{ name: "sync", status: "interrupted", snapshot: '{"cursor":42}' }]);
  });
});
