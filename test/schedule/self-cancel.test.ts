import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { QueueItem, Schedule } from "../../src/schedule/types.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const START = Date.UTC(2030, 0, 1);
const runs: string[] = [];
const errors: string[] = [];

class Poller extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
  }
  override onError(error: unknown) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  poll() {
    return this.scheduleEvery(60, "pollOnce");
  }
  async pollOnce(_payload: unknown, schedule: Schedule) {
    runs.push("poll");
    this.sql`INSERT INTO notes VALUES ('polled')`;
    await this.cancelSchedule(schedule.id);
    throw new Error("cleanup failed");
  }
  enqueue() {
    return Promise.all([this.queue("once", { n: 1 }), this.queue("after", { n: 2 })]);
  }
  async once(_payload: unknown, item: QueueItem) {
    runs.push("once");
    await this.dequeue(item.id);
    throw new Error("once failed");
  }
  after() {
    runs.push("after");
  }
  left() {
    return { schedules: this.getSchedules().length, queue: this.getQueues().length };
  }
  notes() {
    return this.sql<{ text: string }>`SELECT text FROM notes`.map((row) => row.text);
  }
  failures() {
    return this.getTaskFailures();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  runs.length = 0;
  errors.length = 0;
  await t?.close();
  t = undefined;
});

async function poller() {
  t = await createTestEnv({ agents: { Poller }, start: START });
  return t.get<Poller>("Poller", "p");
}

describe("a callback that cancels its own task and then throws", () => {
  it("keeps the cancel (as the Agents SDK does): an interval stops; the run's other writes are undone", async () => {
    const p = await poller();
    await p.poll();
    await t!.clock.advance("10 minutes");
    expect(runs).toEqual(["poll"]);
    expect(await p.left()).toEqual({ schedules: 0, queue: 0 });
    expect(await p.notes()).toEqual([]); // written since its last commit: undone with the failure
    expect(errors).toEqual(["cleanup failed"]); // onError is told, and no retry follows
    expect(await p.failures()).toEqual([]);
  });

  it("keeps a dequeue of the running item: it is not retried, and the items behind it run", async () => {
    const p = await poller();
    await p.enqueue();
    await t!.clock.advance("1 minute");
    expect(runs).toEqual(["once", "after"]);
    expect(await p.left()).toEqual({ schedules: 0, queue: 0 });
    expect(errors).toEqual(["once failed"]);
  });
});
