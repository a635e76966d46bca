/**
 * An agent that never ran a fiber starts without its fiber machinery (nothing to recover, no table
 * read beyond the schema check): after a wake, fibers work as before, and a fiber the last process
 * left running is still recovered at the agent's next start.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest } from "./helpers.ts";

const recovered: string[] = [];
const never = new Promise<never>(() => {});

class Plain extends Agent {
  static options = { keepAliveIntervalMs: 60_000 };

  ping() {
    return "pong";
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push(ctx.name);
  }

  async quick(name: string) {
    return this.runFiber(name, async () => `${name} done`);
  }

  begin(name: string) {
    void this.runFiber(name, () => never);
  }

  tables() {
    return this.sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_hearth_fibers'`.length;
  }
}

const env = envPerTest(undefined, () => {
  recovered.length = 0;
});

describe("start-up of an agent without fibers", () => {
  it("wakes without a fiber table, and runs fibers after the wake", async () => {
    const t = await env({ agents: { Plain } });
    const agent = t.get<Plain>("Plain", "a");
    expect(await agent.ping()).toBe("pong");
    expect(t.hibernate()).toBe(1);
    expect(await agent.tables()).toBe(0);
    expect(await agent.quick("first")).toBe("first done");
    expect(await agent.tables()).toBe(1);
  });

  it("recovers a fiber the last process left running at the next start", async () => {
    const t = await env({ agents: { Plain } });
    await t.get<Plain>("Plain", "b").begin("unfinished");
    await t.restart();
    expect(await t.get<Plain>("Plain", "b").ping()).toBe("pong");
    await t.clock.settle();
    expect(recovered).toEqual(["unfinished"]);
  });
});
