// Cloudflare's `create({ retention: { successRetention, errorRetention } })`: a finished instance's
// record goes at its end + retention, through the host's durable timer (virtual clock here), also
// across restarts and a lost index; bad durations are refused before anything is written.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { serialize } from "node:v8";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import {
  WorkflowEntrypoint,
  WorkflowStateError,
  type WorkflowBinding,
  type WorkflowEvent,
  type WorkflowInstanceCreateOptions,
  type WorkflowStep,
} from "../../src/workflow/index.ts";

const START = Date.UTC(2034, 0, 1);
const HOUR = 3600_000;
const runs: string[] = [];

/** Does its work once "go" arrives: completes, or fails when the payload says so. */
class Job extends WorkflowEntrypoint<unknown, { label?: string }> {
  async run(event: WorkflowEvent<{ label?: string }>, step: WorkflowStep) {
    const go = await step.waitForEvent<{ fail?: boolean }>("go", { type: "go", timeout: "30 days" });
    await step.do("work", () => runs.push(`${event.instanceId} ${event.payload?.label ?? ""}`.trim()));
    if (go.payload?.fail) throw new Error("the job failed");
    return "done";
  }
}

const dirs: string[] = [];
let t: TestEnv | undefined;
afterEach(async () => {
  runs.length = 0;
  await t?.close();
  t = undefined;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function env(dataDir?: string, start = START) {
  t = await createTestEnv({ agents: {}, workflows: { Job }, start, ...(dataDir ? { dataDir } : {}) });
  return t;
}
const jobs = (t: TestEnv) => t.env.Job as WorkflowBinding<{ label?: string }>;
const exists = (t: TestEnv, id: string) =>
  jobs(t).get(id).then(
    () => true,
    (error: unknown) => {
      if (error instanceof WorkflowStateError) return false;
      throw error;
    },
  );

async function finish(t: TestEnv, id: string, options: { fail?: boolean } = {}) {
  await (await jobs(t).get(id)).sendEvent({ type: "go", payload: options });
  await t.clock.settle();
}

describe("retention", () => {
  it("removes a completed instance at its end + successRetention; the id is free again", async () => {
    const t = await env();
    const instance = await jobs(t).create({ id: "j1", retention: { successRetention: "1 hour", errorRetention: "1 day" } });
    await t.clock.settle();
    await t.clock.advance("2 hours"); // the clock starts at the end, not at creation
    await finish(t, "j1");
    expect(await instance.status()).toEqual({ status: "complete", output: "done" });

    await t.clock.advance(HOUR - 1);
    expect(await exists(t, "j1")).toBe(true);
    await t.clock.advance(1);
    expect(await exists(t, "j1")).toBe(false);
    await expect(jobs(t).get("j1")).rejects.toThrow('Job has no instance "j1"');
    expect(await instance.status()).toEqual({ status: "unknown" });
    await expect(instance.sendEvent({ type: "go" })).rejects.toThrow(WorkflowStateError);

    // A new instance under the same id starts from nothing: its step runs again.
    await jobs(t).create({ id: "j1", params: { label: "again" } });
    await t.clock.settle();
    await finish(t, "j1");
    expect(runs).toEqual(["j1", "j1 again"]);
    expect(await (await jobs(t).get("j1")).status()).toEqual({ status: "complete", output: "done" });
  });

  it("removes an errored instance at errorRetention, and keeps one whose way of ending has no retention", async () => {
    const t = await env();
    await jobs(t).createBatch([
      { id: "fails", retention: { successRetention: "1 hour", errorRetention: "1 day" } },
      { id: "fails-kept", retention: { successRetention: "1 hour" } },
      { id: "no-retention" },
    ]);
    await t.clock.settle();
    for (const id of ["fails", "fails-kept", "no-retention"]) await finish(t, id, { fail: true });
    expect(await (await jobs(t).get("fails")).status()).toMatchObject({ status: "errored", error: { message: "the job failed" } });

    await t.clock.advance("23 hours");
    expect(await exists(t, "fails")).toBe(true);
    await t.clock.advance("1 hour");
    expect(await exists(t, "fails")).toBe(false);
    await t.clock.advance("3650 days");
    expect(await exists(t, "fails-kept")).toBe(true);
    expect(await exists(t, "no-retention")).toBe(true);
  });

  it("removes a terminated instance at successRetention, as Cloudflare does", async () => {
    const t = await env();
    const instance = await jobs(t).create({ id: "stopped", retention: { successRetention: "10 minutes", errorRetention: "30 days" } });
    await t.clock.settle();
    await instance.terminate();
    expect(await instance.status()).toEqual({ status: "terminated" });
    await t.clock.advance("9 minutes");
    expect(await exists(t, "stopped")).toBe(true);
    await t.clock.advance("1 minute");
    expect(await exists(t, "stopped")).toBe(false);
  });

  it("removes an instance with a retention of 0 as soon as it ends", async () => {
    const t = await env();
    await jobs(t).create({ id: "zero", retention: { successRetention: 0 } });
    await t.clock.settle();
    expect(await exists(t, "zero")).toBe(true); // running: retention counts from the end
    await finish(t, "zero");
    expect(runs).toEqual(["zero"]);
    expect(await exists(t, "zero")).toBe(false);
  });

  it("forgets a pending removal when the instance is restarted, and counts again from its next end", async () => {
    const t = await env();
    const instance = await jobs(t).create({ id: "again", retention: { successRetention: "1 hour" } });
    await t.clock.settle();
    await finish(t, "again");
    await t.clock.advance("30 minutes");
    await instance.restart();
    await t.clock.settle();
    await t.clock.advance("2 hours");
    expect(await instance.status()).toEqual({ status: "waiting" });
    await finish(t, "again");
    await t.clock.advance("59 minutes");
    expect(await instance.status()).toEqual({ status: "complete", output: "done" });
    await t.clock.advance("1 minute");
    expect(await instance.status()).toEqual({ status: "unknown" });
  });
});

describe("retention across restarts", () => {
  it("removes on time when the host restarts before the removal is due", async () => {
    const t = await env();
    await jobs(t).create({ id: "r1", retention: { successRetention: "2 hours" } });
    await t.clock.settle();
    await finish(t, "r1");
    await t.restart({ downFor: "1 hour" });
    expect(await exists(t, "r1")).toBe(true);
    await t.clock.advance("59 minutes");
    expect(await exists(t, "r1")).toBe(true);
    await t.clock.advance("1 minute");
    expect(await exists(t, "r1")).toBe(false);
  });

  it("removes at the restart a record whose time came while the host was down", async () => {
    const t = await env();
    await jobs(t).create({ id: "r2", retention: { successRetention: "2 hours" } });
    await jobs(t).create({ id: "kept" });
    await t.clock.settle();
    await finish(t, "r2");
    await finish(t, "kept");
    await t.restart({ downFor: "3 hours" });
    await t.clock.settle();
    expect(await exists(t, "r2")).toBe(false);
    expect(await exists(t, "kept")).toBe(true);
  });

  it("re-arms removals when the index file was lost, and deletes the instance's steps and events with it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-retention-"));
    dirs.push(dataDir);
    let t = await env(dataDir);
    await jobs(t).create({ id: "gone", retention: { successRetention: "1 day" } });
    await jobs(t).create({ id: "kept" });
    await t.clock.settle();
    for (const id of ["gone", "kept"]) {
      await (await jobs(t).get(id)).sendEvent({ type: "unused", payload: id }); // an event nothing takes
      await finish(t, id);
    }
    await t.close();
    rmSync(join(dataDir, "host.sqlite"));
    expect(existsSync(join(dataDir, "host.sqlite"))).toBe(false);

    t = await env(dataDir, START + 12 * HOUR);
    expect(await exists(t, "gone")).toBe(true);
    await t.clock.advance("12 hours");
    expect(await exists(t, "gone")).toBe(false);
    expect(await exists(t, "kept")).toBe(true);
    await t.close();

    const db = new DatabaseSync(join(dataDir, "workflows.sqlite"));
    const count = (table: string, column: string, id: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE workflow = 'Job' AND ${column} = ?`).get(id) as { n: number }).n;
    try {
      expect([count("instances", "id", "gone"), count("steps", "instance", "gone"), count("events", "instance", "gone")]).toEqual([0, 0, 0]);
      expect([count("instances", "id", "kept"), count("steps", "instance", "kept"), count("events", "instance", "kept")]).toEqual([1, 2, 2]);
    } finally {
      db.close();
    }
  });
});

describe("a store written before retention existed", () => {
  it("gains the retention columns and keeps its instances", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-retention-old-"));
    dirs.push(dataDir);
    const old = new DatabaseSync(join(dataDir, "workflows.sqlite"));
    old.exec(`CREATE TABLE instances (
      workflow TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, params BLOB, output BLOB, error TEXT,
      epoch INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      agent_class TEXT, agent_name TEXT, PRIMARY KEY (workflow, id))`);
    old.prepare("INSERT INTO instances (workflow, id, status, output, created_at, updated_at) VALUES ('Job', 'old', 'complete', ?, ?, ?)").run(
      serialize("from before"),
      START,
      START,
    );
    old.close();

    const t = await env(dataDir);
    expect(await (await jobs(t).get("old")).status()).toEqual({ status: "complete", output: "from before" });
    await jobs(t).create({ id: "new", retention: { successRetention: "1 hour" } });
    await t.clock.settle();
    await finish(t, "new");
    await t.clock.advance("1 hour");
    expect([await exists(t, "old"), await exists(t, "new")]).toEqual([true, false]);
  });
});

describe("retention options", () => {
  const refused: Array<[string, unknown, RegExp]> = [
    ["a misspelt unit", { successRetention: "5 minuts" }, /Job\.create\(\): retention\.successRetention "5 minuts" is not a duration/],
    ["a negative duration", { errorRetention: -1 }, /retention\.errorRetention must not be negative/],
    ["NaN", { successRetention: Number.NaN }, /retention\.successRetention must be a finite number/],
    ["more than 10 years", { successRetention: "3651 days" }, /retention\.successRetention is 3651 d; the limit is 3650 d \(maxWorkflowRetentionMs\)/],
    ["a boolean", { errorRetention: true }, /retention\.errorRetention must be a number of milliseconds or a string such as "5 minutes", got boolean/],
    ["a null duration", { successRetention: null }, /retention\.successRetention must be a number of milliseconds or a string .* got null/],
    ["a misspelt field", { succesRetention: "1 day" }, /retention takes successRetention and errorRetention, not "succesRetention"/],
    ["null", null, /retention must be an object \{ successRetention\?, errorRetention\? \}, got null/],
    ["a bare duration", "1 day", /retention must be an object .* got "1 day"/],
  ];

  it.each(refused)("refuses %s with a clear error and creates nothing", async (_what, retention, message) => {
    const t = await env();
    const options = { id: "bad", retention } as unknown as WorkflowInstanceCreateOptions<{ label?: string }>;
    await expect(jobs(t).create(options)).rejects.toThrow(message);
    expect(await exists(t, "bad")).toBe(false);
  });

  it("creates none of a batch with one bad retention, naming the item", async () => {
    const t = await env();
    const batch = [{ id: "fine", retention: { successRetention: "1 hour" } }, { id: "bad", retention: { errorRetention: "soon" } }];
    await expect(jobs(t).createBatch(batch)).rejects.toThrow(/Job\.createBatch\(\) item 1: retention\.errorRetention "soon" is not a duration/);
    expect(await exists(t, "fine")).toBe(false);
  });

  it("takes durations as milliseconds or text, up to the limit", async () => {
    const t = await env();
    await jobs(t).createBatch([
      { id: "ms", retention: { successRetention: 90_000 } },
      { id: "text", retention: { successRetention: "1 minute 30 seconds", errorRetention: "3650 days" } },
    ]);
    await t.clock.settle();
    await finish(t, "ms");
    await finish(t, "text");
    await t.clock.advance(89_999);
    expect([await exists(t, "ms"), await exists(t, "text")]).toEqual([true, true]);
    await t.clock.advance(1);
    expect([await exists(t, "ms"), await exists(t, "text")]).toEqual([false, false]);
  });
});
