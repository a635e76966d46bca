import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { HANDLE } from "../../src/agent/agent-base.ts";
import { registerTaskHandler } from "../../src/schedule/task-handlers.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const seen: Array<{ agent: string; payload: unknown; callback: string }> = [];
registerTaskHandler("hearth:test.record", (agent, payload, task) => {
  const self = agent as Notes;
  self.sql`INSERT INTO notes VALUES (${JSON.stringify(payload)})`;
  seen.push({ agent: self.name, payload, callback: task.callback });
});

class Notes extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
  }
  enqueueFeatureTask(payload: unknown) {
    return this[HANDLE.tasks]().queue("hearth:test.record", payload);
  }
  scheduleUnknownFeatureTask() {
    return this[HANDLE.tasks]().queue("hearth:test.nobody", {});
  }
  notes() {
    return this.sql<{ text: string }>`SELECT text FROM notes`.map((row) => row.text);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  seen.length = 0;
});

describe("feature task handlers", () => {
  it("run a registered hearth: task as the agent's own event, writing to its database", async () => {
    t = await createTestEnv({ agents: { Notes } });
    const notes = await t.get<Notes>("Notes", "n1");
    await notes.enqueueFeatureTask({ hello: "world" });
    await t.clock.settle();
    expect(seen).toEqual([{ agent: "n1", payload: { hello: "world" }, callback: "hearth:test.record" }]);
    expect(await notes.notes()).toEqual(['{"hello":"world"}']);
  });

  it("refuse an unregistered feature task and a name without the prefix", async () => {
    t = await createTestEnv({ agents: { Notes } });
    const notes = await t.get<Notes>("Notes", "n2");
    await expect(notes.scheduleUnknownFeatureTask()).rejects.toThrow('queue(): Notes has no method "hearth:test.nobody" to call');
    expect(() => registerTaskHandler("record", () => undefined)).toThrow('A feature task name must start with "hearth:"');
  });
});
