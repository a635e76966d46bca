/**
 * Schedules due at the same moment run in the order they were made; getQueues(key, value) compares
 * with `===` as Cloudflare's does; a schedule's retry options come back as they were given.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { agentFilePath } from "../../src/storage/agent-file.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const START = Date.UTC(2030, 5, 1);
const ran: number[] = [];

class Steps extends Agent {
  plan(count: number, at: number | undefined): void {
    for (let step = 0; step < count; step++) void this.schedule(at === undefined ? 0 : new Date(at), "step", step);
  }
  step(step: number): void {
    ran.push(step);
  }
  async everyTenSeconds(): Promise<string> {
    return (await this.schedule("*/10 * * * * *", "step", 10)).type;
  }
  planned(): number[] {
    return this.getSchedules().map((schedule) => schedule.payload as number);
  }
  async later(retry: { maxAttempts?: number; baseDelayMs?: number }): Promise<unknown> {
    const made = await this.schedule(60, "step", 0, { retry });
    return { made: made.retry, read: this.getSchedule(made.id)?.retry };
  }
  enqueue(payloads: unknown[]): void {
    for (const payload of payloads) void this.queue("hold", payload);
  }
  hold(): Promise<void> {
    return new Promise(() => {}); // keeps every item in the queue
  }
  matching(key: string, value: unknown): unknown[] {
    return this.getQueues(key, value).map((item) => item.payload);
  }
}

let t: TestEnv | undefined;
const dirs: string[] = [];
afterEach(async () => {
  ran.length = 0;
  await t?.close({ drainMs: 0 });
  t = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("schedules due at the same time", () => {
  it("run and list in the order they were made (a Date, and a delay of 0 within one event)", async () => {
    t = await createTestEnv({ agents: { Steps }, start: START });
    const steps = t.get<Steps>("Steps", "a");
    await steps.plan(12, START + 5_000);
    expect(await steps.planned()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await t.clock.advance("5 s");
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    ran.length = 0;
    await steps.plan(12, undefined);
    await t.clock.advance("1 s");
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("a file from before this order gets the new index at its first write, and finds the head with it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-schedule-index-"));
    dirs.push(dataDir);
    t = await createTestEnv({ agents: { Steps }, start: START, dataDir });
    await t.get<Steps>("Steps", "old").plan(1, START + 60_000);
    await t.close({ drainMs: 0 });
    t = undefined;
    const path = agentFilePath(dataDir, "steps", "old");
    const db = new DatabaseSync(path);
    db.exec(
      "DROP INDEX _hearth_schedules_due; CREATE INDEX _hearth_schedules_next ON _hearth_schedules (due_at, id) WHERE tripped_at IS NULL",
    );
    db.close();

    t = await createTestEnv({ agents: { Steps }, start: START, dataDir });
    const steps = t.get<Steps>("Steps", "old");
    await steps.plan(3, START + 60_000);
    await t.clock.advance("1 minute");
    expect(ran).toEqual([0, 0, 1, 2]);
    await t.close({ drainMs: 0 });
    t = undefined;
    const after = new DatabaseSync(path, { readOnly: true });
    const indexes = after.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '_hearth_schedules' AND sql IS NOT NULL").all();
    const plan = after.prepare("EXPLAIN QUERY PLAN SELECT * FROM _hearth_schedules WHERE tripped_at IS NULL ORDER BY due_at, rowid LIMIT 2").all();
    after.close();
    expect(indexes.map((row) => row.name)).toEqual(["_hearth_schedules_due"]);
    expect(plan.map((row) => String(row.detail)).join(" ")).not.toContain("TEMP B-TREE");
  });
});

describe("a cron with a seconds field", () => {
  it("runs on those seconds, as the Agents SDK's cron parser reads it", async () => {
    t = await createTestEnv({ agents: { Steps }, start: START });
    expect(await t.get<Steps>("Steps", "c").everyTenSeconds()).toBe("cron");
    await t.clock.advance("35 s");
    expect(ran).toEqual([10, 10, 10]);
  });
});

describe("getQueues(key, value)", () => {
  it("matches payload[key] === value: null, booleans, numbers and strings alike", async () => {
    t = await createTestEnv({ agents: { Steps }, start: START });
    const steps = t.get<Steps>("Steps", "q");
    await steps.enqueue([{ tag: null, n: 1 }, { tag: true, n: 2 }, { tag: "true", n: 3 }, { tag: 1, n: 4 }, { n: 5 }, "plain", null]);
    expect(await steps.matching("tag", null)).toEqual([{ tag: null, n: 1 }]);
    expect(await steps.matching("tag", true)).toEqual([{ tag: true, n: 2 }]);
    expect(await steps.matching("tag", "true")).toEqual([{ tag: "true", n: 3 }]);
    expect(await steps.matching("tag", 1)).toEqual([{ tag: 1, n: 4 }]);
    expect(await steps.matching("tag", undefined)).toEqual([{ n: 5 }]);
    expect(await steps.matching("n", 2)).toEqual([{ tag: true, n: 2 }]);
  });
});

describe("a schedule's retry options", () => {
  it("come back as given; the class's defaults fill in only when it runs", async () => {
    t = await createTestEnv({ agents: { Steps }, start: START });
    const steps = t.get<Steps>("Steps", "r");
    expect(await steps.later({ maxAttempts: 5 })).toEqual({ made: { maxAttempts: 5 }, read: { maxAttempts: 5 } });
  });
});
