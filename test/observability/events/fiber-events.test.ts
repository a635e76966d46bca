import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { collect, type Collected } from "./collect.ts";

class Worker extends Agent {
  async work() {
    return this.runFiber("research", async () => "done");
  }
  async fail() {
    try {
      await this.runFiber("broken", async () => {
        throw new Error("no luck");
      });
    } catch (error) {
      return (error as Error).message;
    }
  }
  async managed() {
    return this.startFiber("reply", async () => {}, { fiberId: "f1", waitForCompletion: true });
  }
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
});

describe("fiber events", () => {
  it("fiber:run:started, then completed or failed, with the fiber's id, name and whether it is managed", async () => {
    t = await createTestEnv({ agents: { Worker }, start: Date.UTC(2031, 0, 1) });
    seen = collect();
    const worker = t.get<Worker>("Worker", "w1");
    expect(await worker.work()).toBe("done");
    expect(await worker.fail()).toBe("no luck");
    await worker.managed();
    const events = seen.of("w1");
    const ids = events.map(([, payload]) => (payload as { fiberId: string }).fiberId);
    expect(events).toEqual([
      ["fiber:run:started", { fiberId: ids[0], fiberName: "research", managed: false }],
      ["fiber:run:completed", { fiberId: ids[0], fiberName: "research", managed: false, elapsedMs: 0 }],
      ["fiber:run:started", { fiberId: ids[2], fiberName: "broken", managed: false }],
      ["fiber:run:failed", { fiberId: ids[2], fiberName: "broken", managed: false, error: "no luck", elapsedMs: 0 }],
      ["fiber:run:started", { fiberId: "f1", fiberName: "reply", managed: true }],
      ["fiber:run:completed", { fiberId: "f1", fiberName: "reply", managed: true, elapsedMs: 0 }],
    ]);
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(seen.events.map((event) => event.channel))).toEqual(new Set(["fiber"]));
  });
});
