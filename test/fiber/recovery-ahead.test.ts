/**
 * A failing recovery of a hibernated agent, with the host starting agents ahead of their due time
 * (virtual time). The agent is live when its retry comes due, so the retry runs on the live agent's
 * path, which first announces it one keep-alive interval on; once the agent leaves memory again, the
 * host's entry must be the retry time the agent recorded, not that earlier announcement (an early
 * entry costs a wasted start and wake, and says the retry is due when it is not).
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { recoveryBackoff } from "../../src/fiber/limits.ts";
import { envPerTest } from "./helpers.ts";

/** Virtual times at which onFiberRecovered ran, per agent (this module outlives every host). */
const calls = new Map<string, number[]>();
const never = new Promise<never>(() => {});

/** Retries wait 1, 2, 4, 8 s: from the third on, longer than the keep-alive interval. */
class Flaky extends Agent {
  static options = { keepAliveIntervalMs: 2_000 };

  onError() {}

  begin() {
    void this.runFiber("sync", async () => {
      await never;
    });
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    calls.set(this.name, [...(calls.get(this.name) ?? []), Date.now()]);
    throw new Error(`still down, cannot recover ${ctx.name}`);
  }
}

const env = envPerTest({ agents: { Flaky } }, () => calls.clear());

const callsOf = (agent: string) => calls.get(agent) ?? [];

describe("a failing recovery retried on an agent started ahead of it", () => {
  it("is started ahead, runs at the recorded time, and the host's entry is that time once the agent leaves memory", async () => {
    const t = await env();
    await t.get<Flaky>("Flaky", "r").begin();
    await t.restart();
    await t.clock.settle();
    expect(callsOf("r")).toHaveLength(1); // at start-up, after the restart
    for (let attempt = 2; attempt <= 5; attempt++) {
      await expect.poll(() => t.hibernate()).toBe(1);
      const last = callsOf("r").at(-1)!;
      const due = t.host.nextWake("Flaky", "r")!.getTime();
      // Not the keep-alive interval (2 s) the live agent announced first: the retry it recorded.
      expect(due - last).toBe(recoveryBackoff(attempt - 1));
      // Half a second before: started ahead (live again), nothing run early.
      await t.clock.advanceTo(due - 500);
      await expect.poll(() => t.host.internals.isLive("Flaky", "r")).toBe(true);
      expect(callsOf("r")).toHaveLength(attempt - 1);
      await t.clock.advanceTo(due);
      await expect.poll(() => callsOf("r")).toHaveLength(attempt);
      expect(callsOf("r").at(-1)).toBe(due);
    }
  });
});
