// A waiting `step.waitForEvent` step keeps the event type it waits for (`steps.awaits`, which the
// inspector shows); a store written before that column existed gains it and its waiting instances
// still take their event.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { WorkflowEntrypoint, type WorkflowBinding, type WorkflowEvent, type WorkflowStep } from "../../src/workflow/index.ts";

const START = Date.UTC(2034, 0, 1);

/** Waits, in a step named "sign-off", for an event of type "approve". */
class SignOff extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const answer = await step.waitForEvent<{ ok: boolean }>("sign-off", { type: "approve", timeout: "30 days" });
    return answer.payload.ok ? "approved" : "refused";
  }
}

const dirs: string[] = [];
let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const signOffs = (env: TestEnv) => env.env.SignOff as WorkflowBinding;

function steps(dataDir: string): Array<{ key: string; status: string; awaits: string | null }> {
  const db = new DatabaseSync(join(dataDir, "workflows.sqlite"), { readOnly: true });
  try {
    return db.prepare("SELECT key, status, awaits FROM steps ORDER BY seq").all() as Array<{ key: string; status: string; awaits: string | null }>;
  } finally {
    db.close();
  }
}

describe("the event type a waiting step awaits", () => {
  it("is recorded with the step, apart from its name", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-awaits-"));
    dirs.push(dataDir);
    t = await createTestEnv({ agents: {}, workflows: { SignOff }, start: START, dataDir });
    const instance = await signOffs(t).create({ id: "one" });
    await t.clock.settle();
    expect((await instance.status()).status).toBe("waiting");
    await t.close();
    t = undefined;
    expect(steps(dataDir)).toEqual([{ key: "e0:sign-off", status: "waiting", awaits: "approve" }]);
  });

  it("is a new column of a store written before it, whose waiting instances still take their event", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-awaits-old-"));
    dirs.push(dataDir);
    const old = new DatabaseSync(join(dataDir, "workflows.sqlite"));
    old.exec(`CREATE TABLE instances (
      workflow TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, params BLOB, output BLOB, error TEXT,
      epoch INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      agent_class TEXT, agent_name TEXT, success_retention INTEGER, error_retention INTEGER, expires_at INTEGER, traceparent TEXT,
      PRIMARY KEY (workflow, id));
    CREATE TABLE steps (
      workflow TEXT NOT NULL, instance TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
      status TEXT NOT NULL, result BLOB, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, wake_at INTEGER,
      PRIMARY KEY (workflow, instance, key));`);
    old.prepare("INSERT INTO instances (workflow, id, status, created_at, updated_at) VALUES ('SignOff', 'old', 'waiting', ?, ?)").run(START, START);
    old.prepare("INSERT INTO steps (workflow, instance, key, seq, kind, status, wake_at) VALUES ('SignOff', 'old', '0:sign-off', 0, 'event', 'waiting', ?)").run(START + 86_400_000);
    old.close();

    t = await createTestEnv({ agents: {}, workflows: { SignOff }, start: START, dataDir });
    const instance = await signOffs(t).get("old");
    await instance.sendEvent({ type: "approve", payload: { ok: true } });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: "approved" });
    await t.close();
    t = undefined;
    expect(steps(dataDir)).toEqual([{ key: "0:sign-off", status: "done", awaits: "approve" }]);
  });
});
