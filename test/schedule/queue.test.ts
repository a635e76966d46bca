import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { QueueItem } from "../../src/schedule/types.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

/** Resolved by the test to let a slow job finish. */
const gates = new Map<string, () => void>();

class Jobs extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS done (job TEXT, seen_running INTEGER)`;
    this.sql`CREATE TABLE IF NOT EXISTS running (n INTEGER)`;
  }
  add(job: string, options?: { id?: string }) {
    return this.queue("work", { job }, options);
  }
  addSlow(job: string) {
    return this.queue("slow", { job });
  }
  async work(payload: { job: string }, item: QueueItem) {
    if (item.callback !== "work") throw new Error("wrong item");
    this.sql`INSERT INTO done VALUES (${payload.job}, 0)`;
  }
  async slow(payload: { job: string }) {
    this.sql`INSERT INTO running VALUES (1)`;
    await new Promise<void>((resolve) => gates.set(payload.job, resolve));
    const [row] = this.sql<{ n: number }>`SELECT count(*) AS n FROM running`;
    this.sql`DELETE FROM running`;
    this.sql`INSERT INTO done VALUES (${payload.job}, ${row!.n})`;
  }
  done() {
    return this.sql<{ job: string; seen_running: number }>`SELECT * FROM done ORDER BY rowid`;
  }
  items(key?: string, value?: string) {
    return this.getQueues(key, value);
  }
  item(id: string) {
    return this.getQueue(id);
  }
  remove(id: string) {
    return this.dequeue(id);
  }
  clear() {
    return this.dequeueAll();
  }
  clearCallback(callback: string) {
    return this.dequeueAllByCallback(callback);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  gates.clear();
  await t?.close();
  t = undefined;
});

async function jobs(name = "j", options: { dataDir?: string } = {}) {
  t ??= await createTestEnv({ agents: { Jobs }, ...options });
  return t.get<Jobs>("Jobs", name);
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("queue()", () => {
  it("runs items soon after, in order, without advancing time", async () => {
    const j = await jobs();
    for (const job of ["a", "b", "c", "d"]) await j.add(job);
    await t!.clock.settle();
    expect((await j.done()).map((row) => row.job)).toEqual(["a", "b", "c", "d"]);
    expect(await j.items()).toEqual([]);
  });

  it("runs one item at a time: the next waits for the slow one", async () => {
    const j = await jobs();
    await j.addSlow("first");
    await j.add("second");
    await until(async () => gates.has("first"), "the slow job to start");
    expect(await j.done()).toEqual([]);
    const queued = await j.items();
    expect(queued.map((item) => item.payload)).toEqual([{ job: "first" }, { job: "second" }]);
    gates.get("first")!();
    await t!.clock.settle();
    expect(await j.done()).toEqual([
      { job: "first", seen_running: 1 },
      { job: "second", seen_running: 0 },
    ]);
  });

  it("reads, filters, replaces by id and dequeues", async () => {
    const j = await jobs();
    await j.addSlow("blocker"); // holds the queue so the rest stay queued
    await until(async () => gates.has("blocker"), "the blocker to start");
    const a = await j.add("a");
    await j.add("b");
    await j.add("c", { id: "fixed" });
    expect(await j.item(a)).toMatchObject({ id: a, callback: "work", payload: { job: "a" }, attempts: 0 });
    expect((await j.items("job", "b")).map((item) => item.payload)).toEqual([{ job: "b" }]);
    await j.add("c2", { id: "fixed" }); // same id: replaced in place, keeps its position
    expect((await j.items()).map((item) => (item.payload as { job: string }).job)).toEqual(["blocker", "a", "b", "c2"]);
    expect(await j.remove(a)).toBe(true);
    expect(await j.remove(a)).toBe(false);
    expect(await j.clearCallback("work")).toBe(2);
    await j.add("d");
    gates.get("blocker")!();
    await t!.clock.settle();
    expect((await j.done()).map((row) => row.job)).toEqual(["blocker", "d"]);
    expect(await j.clear()).toBe(0);
  });

  it("drains items left by a crash when the agent wakes, with no new enqueue", async () => {
    const j = await jobs();
    await j.addSlow("interrupted");
    await j.add("after");
    await until(async () => gates.has("interrupted"), "the job to start");
    // A restart while the item runs: like a crash, the item was never finished.
    const stuck = gates.get("interrupted")!;
    gates.delete("interrupted");
    await t!.restart();
    stuck(); // the old run ends after its host is gone; its writes cannot land
    await until(async () => gates.has("interrupted"), "the item to run again after the restart");
    gates.get("interrupted")!();
    await t!.clock.settle();
    const j2 = t!.get<Jobs>("Jobs", "j");
    expect((await j2.done()).map((row) => row.job)).toEqual(["interrupted", "after"]);
  });
});
