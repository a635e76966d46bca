import { afterEach, describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { subscribe } from "../../src/events/index.ts";
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

/** Fibers that never end by themselves: a restart interrupts them. */
const never = new Promise<void>(() => {});
let failRecovery = true;

class Survivor extends Agent {
  static options = { fiberRecoveryMaxAgeMs: 0 };
  begin() {
    void this.runFiber("crawl", () => never);
    void this.startFiber("digest", () => never, { fiberId: "d1" });
  }
  async onFiberRecovered(ctx: FiberRecoveryContext) {
    if (ctx.name === "crawl" && failRecovery) throw new Error("crawler not ready");
  }
  ping() {
    return "pong";
  }
  onError() {} // the failed recovery is reported here; the test reads its event instead
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

  it("a subscriber that throws on every fiber event harms neither the agent nor the process", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    const original = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => logged.push(args[0]);
    const stop = subscribe("fiber", (event) => {
      throw new Error(`buggy subscriber on ${event.type}`);
    });
    try {
      t = await createTestEnv({ agents: { Worker }, start: Date.UTC(2031, 0, 1) });
      seen = collect();
      const worker = t.get<Worker>("Worker", "w2");
      expect(await worker.work()).toBe("done");
      await new Promise<void>((resolve) => setImmediate(resolve)); // where Node would rethrow it
      expect(await worker.work()).toBe("done");
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      stop();
      console.error = original;
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(seen.of("w2").map(([type]) => type)).toEqual(["fiber:run:started", "fiber:run:completed", "fiber:run:started", "fiber:run:completed"]);
    expect(logged.filter((line) => String(line).includes("a subscriber of agents:fiber threw"))).toHaveLength(2); // once per kind
  });

  it("recovery after a restart: detected, interrupted, attempt, then handled — or failed and tried again", async () => {
    failRecovery = true;
    t = await createTestEnv({ agents: { Survivor }, start: Date.UTC(2031, 0, 1) });
    await t.get<Survivor>("Survivor", "s1").begin();
    seen = collect();
    await t.restart();
    await t.get<Survivor>("Survivor", "s1").ping();
    const first = seen.of("s1").map(([type, payload]) => [type, (payload as { fiberName: string }).fiberName]);
    expect(first).toEqual(
      expect.arrayContaining([
        ["fiber:recovery:detected", "crawl"],
        ["fiber:run:interrupted", "crawl"],
        ["fiber:recovery:attempt", "crawl"],
        ["fiber:recovery:failed", "crawl"],
        ["fiber:recovery:detected", "digest"],
        ["fiber:run:interrupted", "digest"],
        ["fiber:recovery:attempt", "digest"],
        ["fiber:recovery:handled", "digest"],
      ]),
    );
    expect(first).toHaveLength(8);
    const payloads = new Map(seen.of("s1").map(([type, payload]) => [`${type} ${(payload as { fiberName: string }).fiberName}`, payload]));
    expect(payloads.get("fiber:recovery:failed crawl")).toMatchObject({ fiberName: "crawl", error: "crawler not ready", reason: "handler_error" });
    expect(payloads.get("fiber:recovery:handled digest")).toMatchObject({ fiberId: "d1", managed: true, status: "managed" });
    expect(payloads.get("fiber:run:interrupted digest")).toMatchObject({ fiberId: "d1", managed: true, recoveryReason: "interrupted" });

    // The failed one is due again after its backoff; this time the hook succeeds.
    failRecovery = false;
    seen.stop();
    seen = collect();
    await t.clock.advance("2s");
    await t.get<Survivor>("Survivor", "s1").ping();
    expect(seen.of("s1").map(([type]) => type)).toEqual(["fiber:recovery:attempt", "fiber:recovery:handled"]);
    expect(seen.of("s1")[1]![1]).toMatchObject({ fiberName: "crawl", managed: false, status: "user" });
  });
});
