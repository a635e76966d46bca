import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { TaskErrorReport } from "../../src/host/host.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const START = Date.UTC(2030, 5, 1);
/** How many times each key failed, across agents (callbacks run in this process). */
const attempts = new Map<string, number[]>();
const never = new Promise<void>(() => {});

class Flaky extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS ok (key TEXT, at INTEGER)`;
    this.sql`CREATE TABLE IF NOT EXISTS partial (key TEXT)`;
  }
  later(seconds: number, key: string, failTimes: number, retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }) {
    return this.schedule(seconds, "attempt", { key, failTimes }, retry ? { retry } : {});
  }
  every(seconds: number, key: string, failTimes: number) {
    return this.scheduleEvery(seconds, "attempt", { key, failTimes }, { retry: { maxAttempts: 2, baseDelayMs: 1000 } });
  }
  enqueue(key: string, failTimes: number) {
    return this.queue("attempt", { key, failTimes }, { retry: { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 600 } });
  }
  hang(key: string) {
    return this.schedule(0, "hangs", { key }, { retry: { maxAttempts: 10, baseDelayMs: 0 } });
  }
  badRetry(retry: unknown) {
    return this.schedule(10, "attempt", {}, { retry: retry as { maxAttempts: number } });
  }
  attempt(payload: { key: string; failTimes: number }) {
    const list = attempts.get(payload.key) ?? [];
    list.push(Date.now());
    attempts.set(payload.key, list);
    this.sql`INSERT INTO partial VALUES (${payload.key})`; // undone when the attempt fails
    if (list.length <= payload.failTimes) throw new Error(`attempt ${list.length} of ${payload.key} failed`);
    this.sql`INSERT INTO ok VALUES (${payload.key}, ${Date.now()})`;
  }
  async hangs(payload: { key: string }) {
    attempts.set(payload.key, [...(attempts.get(payload.key) ?? []), Date.now()]);
    await never;
  }
  ping() {
    return "pong";
  }
  ok() {
    return this.sql<{ key: string; at: number }>`SELECT * FROM ok`;
  }
  partial(key: string) {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM partial WHERE key = ${key}`[0]!.n;
  }
  failures() {
    return this.getTaskFailures();
  }
  schedules() {
    return this.listSchedules();
  }
  reset(id: string) {
    return this.resetTask(id);
  }
  onError() {} // failures are expected here; keep the output quiet
}

let t: TestEnv | undefined;
const reports: TaskErrorReport[] = [];
afterEach(async () => {
  attempts.clear();
  reports.length = 0;
  await t?.close({ drainMs: 0 });
  t = undefined;
});

async function flaky(host: Parameters<typeof createTestEnv>[0]["host"] = {}) {
  t ??= await createTestEnv({ agents: { Flaky }, start: START, host: { onTaskError: (r) => reports.push(r), ...host } });
  return t.get<Flaky>("Flaky", "f");
}

describe("retries", () => {
  it("retries with jittered exponential backoff and undoes each failed attempt's writes", async () => {
    const f = await flaky();
    await f.later(10, "k", 2, { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 });
    await t!.clock.advance("10 s");
    expect(attempts.get("k")).toHaveLength(1);
    const [s] = await f.schedules();
    expect(s).toMatchObject({ attempts: 1, lastError: "attempt 1 of k failed" });
    // First retry after 500-1000 ms (half to all of 1 s), second after 1-2 s.
    expect(s!.dueAt - (START + 10_000)).toBeGreaterThanOrEqual(500);
    expect(s!.dueAt - (START + 10_000)).toBeLessThanOrEqual(1000);
    await t!.clock.advance("5 s");
    const times = attempts.get("k")!.map((at) => at - START - 10_000);
    expect(times).toHaveLength(3);
    expect(times[1]).toBeGreaterThanOrEqual(500);
    expect(times[1]).toBeLessThanOrEqual(1000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1000);
    expect(times[2]! - times[1]!).toBeLessThanOrEqual(2000);
    expect((await f.ok()).map((r) => r.key)).toEqual(["k"]);
    expect(await f.partial("k")).toBe(1); // only the successful attempt's write stayed
    expect(await f.schedules()).toEqual([]);
    expect(await f.failures()).toEqual([]);
  });

  it("records the failure after the last attempt and drops a one-off schedule", async () => {
    const f = await flaky();
    const s = await f.later(0, "doomed", 99, { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 });
    await t!.clock.advance("1 s");
    expect(attempts.get("doomed")).toHaveLength(3);
    expect(await f.schedules()).toEqual([]);
    expect(await f.failures()).toEqual([
      {
        kind: "schedule",
        taskId: s.id,
        callback: "attempt",
        payload: { key: "doomed", failTimes: 99 },
        error: "attempt 3 of doomed failed",
        attempts: 3,
        failedAt: expect.any(Number) as number,
      },
    ]);
    await t!.clock.advance("1 day");
    expect(attempts.get("doomed")).toHaveLength(3);
  });

  it("moves an interval on to its next run after the last attempt", async () => {
    const f = await flaky();
    const s = await f.every(60, "tick", 2); // attempts 1 and 2 fail: the first run gives up
    await t!.clock.advance("61 s");
    expect(attempts.get("tick")).toHaveLength(2);
    const [after] = await f.schedules();
    expect(after).toMatchObject({ id: s.id, attempts: 0, lastError: "attempt 2 of tick failed" });
    expect(after!.dueAt).toBeGreaterThan(START + 60_000);
    expect(after!.dueAt).toBeLessThanOrEqual(START + 61_000 + 60_000);
    await t!.clock.advance("2 minutes");
    expect((await f.ok()).length).toBeGreaterThanOrEqual(1);
    expect(await f.failures()).toHaveLength(1);
  });

  it("keeps a failing queue item at the head until it succeeds or gives up", async () => {
    const f = await flaky();
    await f.enqueue("q1", 2);
    await f.enqueue("q2", 0);
    await t!.clock.settle();
    expect(attempts.get("q1")).toHaveLength(1);
    expect(attempts.get("q2")).toBeUndefined(); // strict FIFO: waits behind the retrying head
    await t!.clock.advance("2 s");
    expect((await f.ok()).map((r) => r.key)).toEqual(["q1", "q2"]);
  });

  it("refuses bad retry options when scheduling", async () => {
    const f = await flaky();
    await expect(f.badRetry({ maxAttempts: 0 })).rejects.toThrow(/retry\.maxAttempts/);
    await expect(f.badRetry({ baseDelayMs: -1 })).rejects.toThrow(/retry\.baseDelayMs/);
    await expect(f.badRetry({ maxAtempts: 3 })).rejects.toThrow(/maxAtempts/);
    expect(await f.schedules()).toEqual([]);
  });
});

describe("hung callbacks and the crash-loop breaker", () => {
  it("reports a hung run, keeps serving, and stops the task after crashLoopLimit hangs until reset", async () => {
    const f = await flaky({ hungTaskAfterMs: 30, crashLoopLimit: 2 });
    const s = await f.hang("h");
    await t!.clock.settle();
    // Two runs hung (each reported); the third was refused by the breaker.
    expect(attempts.get("h")).toHaveLength(2);
    expect(reports.map((r) => r.error.message)).toEqual([
      expect.stringMatching(/has not finished after 30 ms \(hungTaskAfterMs\)/),
      expect.stringMatching(/has not finished after 30 ms/),
    ]);
    expect(reports[0]).toMatchObject({ className: "Flaky", name: "f" });
    expect(await f.ping()).toBe("pong"); // the agent keeps serving
    const [tripped] = await f.schedules();
    expect(tripped).toMatchObject({ id: s.id, tripped: { crashes: 2 } });
    expect(tripped!.lastError).toMatch(/crash-loop breaker/);
    expect((await f.failures())[0]).toMatchObject({ taskId: s.id, error: expect.stringMatching(/crash-loop breaker/) as string });
    await t!.clock.advance("1 day");
    expect(attempts.get("h")).toHaveLength(2);
    expect(await f.reset(s.id)).toBe(true);
    expect(await f.reset("unknown")).toBe(false);
    await t!.clock.settle();
    expect(attempts.get("h")).toHaveLength(4);
  });
});
