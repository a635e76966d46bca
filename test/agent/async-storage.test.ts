import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Notes extends Agent {
  async save(key: string, value: unknown): Promise<void> {
    await this.ctx.storage.put(key, value);
  }
  async read(prefix: string): Promise<Array<[string, unknown]>> {
    return [...(await this.ctx.storage.list({ prefix })).entries()];
  }
  syncRead(key: string): unknown {
    return this.ctx.storage.kv.get(key);
  }
  async alarmRefused(): Promise<string> {
    try {
      await this.ctx.storage.setAlarm(Date.now() + 1000);
      return "set";
    } catch (error) {
      return (error as Error).message;
    }
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("an agent's ctx.storage", () => {
  it("has the Durable Object storage API over the same data as ctx.storage.kv; the alarm stays with its schedules", async () => {
    harness = await startHarness({ Notes });
    const notes = await getAgentByName(harness.host.env.Notes as AgentNamespace<Notes>, "n");
    await notes.save("note:1", { text: "hi", at: new Date(0) });
    await notes.save("note:2", "two");
    expect(await notes.read("note:")).toEqual([
      ["note:1", { text: "hi", at: new Date(0) }],
      ["note:2", "two"],
    ]);
    expect(await notes.syncRead("note:2")).toBe("two");
    expect(await notes.alarmRefused()).toMatch(/use this\.schedule/);
  });
});
