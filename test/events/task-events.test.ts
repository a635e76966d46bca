import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { collect, type Collected } from "./collect.ts";

const failures = new Map<string, number>();

class Planner extends Agent {
  later(seconds: number, key: string, failTimes: number) {
    return this.schedule(seconds, "work", { key, failTimes }, { retry: { maxAttempts: 2, baseDelayMs: 1000, maxDelayMs: 1000 } });
  }
  every(seconds: number) {
    return this.scheduleEvery(seconds, "work", { key: "every", failTimes: 0 });
  }
  cancel(id: string) {
    return this.cancelSchedule(id);
  }
  enqueue(key: string, failTimes: number) {
    return this.queue("work", { key, failTimes }, { id: key, retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 500 } });
  }
  work(payload: { key: string; failTimes: number }) {
    const failed = failures.get(payload.key) ?? 0;
    if (failed < payload.failTimes) {
      failures.set(payload.key, failed + 1);
      throw new Error(`attempt ${failed + 1} of ${payload.key} failed`);
    }
  }
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
  failures.clear();
});

async function env(): Promise<{ t: TestEnv; seen: Collected }> {
  t = await createTestEnv({ agents: { Planner }, start: Date.UTC(2031, 0, 1) });
  seen = collect();
  return { t, seen };
}

describe("schedule and queue events", () => {
  it("schedule:create, schedule:execute, then schedule:cancel of a recurring schedule", async () => {
    const { t, seen } = await env();
    const planner = t.get<Planner>("Planner", "p1");
    const once = await planner.later(10, "once", 0);
    const every = await planner.every(60);
    expect(await planner.every(60)).toEqual(every); // idempotent: the existing schedule, no new create
    await t.clock.advance(61_000);
    expect(await planner.cancel(every.id)).toBe(true);
    expect(await planner.cancel(every.id)).toBe(false); // nothing left to cancel: no event
    expect(seen.of("p1")).toEqual([
      ["schedule:create", { callback: "work", id: once.id }],
      ["schedule:create", { callback: "work", id: every.id }],
      ["schedule:execute", { callback: "work", id: once.id }],
      ["schedule:execute", { callback: "work", id: every.id }],
      ["schedule:cancel", { callback: "work", id: every.id }],
    ]);
    expect(new Set(seen.events.map((event) => event.channel))).toEqual(new Set(["schedule"]));
  });

  it("schedule:retry after a failed attempt and schedule:error after the last", async () => {
    const { t, seen } = await env();
    const planner = t.get<Planner>("Planner", "p2");
    const flaky = await planner.later(1, "flaky", 5);
    await t.clock.advance(10_000);
    expect(seen.of("p2")).toEqual([
      ["schedule:create", { callback: "work", id: flaky.id }],
      ["schedule:execute", { callback: "work", id: flaky.id }],
      ["schedule:retry", { callback: "work", id: flaky.id, attempt: 2, maxAttempts: 2 }],
      ["schedule:error", { callback: "work", id: flaky.id, error: "attempt 2 of flaky failed", attempts: 2 }],
    ]);
  });

  it("queue:create, queue:retry for each retry (not the first run) and queue:error when it gives up", async () => {
    const { t, seen } = await env();
    const planner = t.get<Planner>("Planner", "p3");
    await planner.enqueue("fine", 0);
    await planner.enqueue("bad", 9);
    await t.clock.advance(5_000);
    expect(seen.of("p3")).toEqual([
      ["queue:create", { callback: "work", id: "fine" }],
      ["queue:create", { callback: "work", id: "bad" }],
      ["queue:retry", { callback: "work", id: "bad", attempt: 2, maxAttempts: 3 }],
      ["queue:retry", { callback: "work", id: "bad", attempt: 3, maxAttempts: 3 }],
      ["queue:error", { callback: "work", id: "bad", error: "attempt 3 of bad failed", attempts: 3 }],
    ]);
  });
});
