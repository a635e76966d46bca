/**
 * An agent that leaves memory with fibers running (a shutdown or restart, an eviction, destroy())
 * tells their functions to stop: `ctx.signal` aborts, with a reason saying the agent left memory.
 * Their fibers are recovered at the agent's next start; a function that went on would repeat the
 * work its recovery does.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest } from "./helpers.ts";

/** Per agent name: the reason each fiber's signal aborted with. */
const aborted = new Map<string, string[]>();
const recovered: string[] = [];

class Runner extends Agent {
  onError() {}

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push(`${this.name}:${ctx.name}`);
  }

  /** A fiber that works until its signal aborts. */
  begin() {
    const name = this.name;
    void this.runFiber("long", async (ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      const reason: unknown = ctx.signal.reason;
      aborted.set(name, [...(aborted.get(name) ?? []), reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)]);
    });
  }

  async selfDestruct() {
    await this.destroy();
  }
}

const env = envPerTest({ agents: { Runner } }, () => {
  aborted.clear();
  recovered.length = 0;
});

const LEFT_MEMORY = /^AbortError: Runner\/\w+ left memory .*recovered at the agent's next start$/;

describe("fibers of an agent that leaves memory", () => {
  it("a restart (the host closing) aborts their signal; the fiber is recovered by the next start", async () => {
    const t = await env();
    await t.get<Runner>("Runner", "a").begin();
    await t.restart();
    await expect.poll(() => aborted.get("a")).toEqual([expect.stringMatching(LEFT_MEMORY)]);
    await t.clock.settle();
    expect(recovered).toEqual(["a:long"]);
  });

  it("an eviction aborts their signal", async () => {
    const t = await env();
    await t.get<Runner>("Runner", "b").begin();
    t.host.evict("runner", "b", new Error("the lease moved to another node"));
    await expect.poll(() => aborted.get("b")).toEqual([expect.stringMatching(LEFT_MEMORY)]);
  });

  it("destroy() aborts their signal", async () => {
    const t = await env();
    const runner = t.get<Runner>("Runner", "c");
    await runner.begin();
    await runner.selfDestruct();
    await expect.poll(() => aborted.get("c")).toEqual([expect.stringMatching(LEFT_MEMORY)]);
    expect(t.host.exists("Runner", "c")).toBe(false);
  });
});
