/**
 * What the host keeps per parent for its children (generations, stub counts): nothing once the parent
 * is destroyed, nor once it left memory holding nothing, so a host that sees many parents come and go
 * does not grow with them.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { Children } from "../../src/host/children.ts";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Note extends Agent {
  ping(): number {
    return 1;
  }
}

class Desk extends Agent {
  async use(): Promise<number> {
    return (await this.subAgent(Note, "n")).ping();
  }
  async gone(): Promise<void> {
    await this.destroy();
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The Children objects alive now, after collecting what can be (stub holders end in finalizers). */
async function liveRecords(): Promise<number> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return v8.queryObjects(Children, { format: "count" });
}

describe("the host's records of a parent's children", () => {
  it("go with destroyed parents", async () => {
    harness = await startHarness({ Desk, Note });
    const base = await liveRecords();
    for (let i = 0; i < 200; i++) {
      const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, `d${i}`);
      await desk.use();
      await desk.gone();
    }
    await expect.poll(() => liveRecords(), { timeout: 10_000 }).toBeLessThanOrEqual(base);
  });

  it("go with parents that left memory holding nothing", async () => {
    harness = await startHarness({ Desk, Note });
    const base = await liveRecords();
    for (let i = 0; i < 200; i++) await (await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, `h${i}`)).use();
    harness.host.hibernateIdleAgents();
    await expect.poll(() => liveRecords(), { timeout: 10_000 }).toBeLessThanOrEqual(base);
  });
});
