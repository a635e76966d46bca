/**
 * Recovery at start-up: as in the Agents SDK it runs before onStart, in the agent's scope; and it
 * cannot wedge the agent. Start-up waits for onFiberRecovered at most
 * `static options.fiberRecoveryScanDeadlineMs`: a hook that never settles is left running, the agent
 * serves requests, the fibers not reached are recovered at a later wake, and the stuck one again at
 * the agent's next start (its record says so).
 */
import { describe, expect, it } from "vitest";
import { Agent, getCurrentAgent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest } from "./helpers.ts";

const events: string[] = [];
const reported: string[] = [];
const never = new Promise<never>(() => {});

class Ordered extends Agent {
  onStart() {
    events.push("onStart");
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    events.push(`recovered ${ctx.name}, in scope: ${getCurrentAgent().agent === this}`);
  }

  begin(name: string) {
    void this.runFiber(name, () => never);
  }
}

class Stuck extends Agent {
  static options = { fiberRecoveryScanDeadlineMs: 50, keepAliveIntervalMs: 60_000 };

  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    events.push(ctx.name);
    if (ctx.name === "stuck") await never; // an LLM call that never answers
  }

  begin(name: string) {
    void this.runFiber(name, () => never);
  }

  ping() {
    return "pong";
  }

  names() {
    return this.sql<{ name: string }>`SELECT name FROM _hearth_fibers ORDER BY created_at`.map((row) => row.name);
  }
}

const env = envPerTest(undefined, () => {
  events.length = 0;
  reported.length = 0;
});

describe("recovery at start-up", () => {
  it("runs before onStart, in the agent's scope", async () => {
    const t = await env({ agents: { Ordered } });
    await t.get<Ordered>("Ordered", "a").begin("job");
    await t.restart();
    events.length = 0;
    await t.clock.settle();
    expect(events).toEqual(["recovered job, in scope: true", "onStart"]);
  });

  it("a hook that never settles does not wedge the agent; the rest is recovered later, the stuck one at the next start", async () => {
    const t = await env({ agents: { Stuck } });
    const agent = () => t.get<Stuck>("Stuck", "a");
    await agent().begin("stuck");
    await t.clock.advance(1_000); // the older one is recovered first
    await agent().begin("other");
    await t.restart();
    await t.clock.settle();

    // The start-up went on after 50 ms: the agent answers while the hook still hangs.
    expect(await agent().ping()).toBe("pong");
    expect(events).toEqual(["stuck"]);
    expect(reported).toContainEqual(expect.stringMatching(/fiber "stuck" .*has not settled within fiberRecoveryScanDeadlineMs \(50 ms\)/));
    expect(reported).toContainEqual(expect.stringMatching(/1 more \("other"\) are recovered from/));
    expect(await agent().names()).toEqual(["stuck", "other"]);

    // A keep-alive interval later the host wakes it and the other fiber is recovered; the stuck hook
    // is not called a second time while it runs.
    await t.clock.advance("1 minute");
    await expect.poll(() => events).toEqual(["stuck", "other"]);
    await expect.poll(() => agent().names()).toEqual(["stuck"]);
    await t.clock.advance("5 minutes");
    expect(events).toEqual(["stuck", "other"]);

    // The process ends with the hook unsettled: the next start recovers that fiber again.
    await t.restart();
    await t.clock.settle();
    expect(events).toEqual(["stuck", "other", "stuck"]);
    expect(await agent().ping()).toBe("pong");
  });
});
