// Occurrences of a step name are counted per kind (do, sleep, waitForEvent), as on Cloudflare; an
// instance recorded when one counter per name served every kind replays under its old keys.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

/** Set once the first execution parked: from then on the work outside a step takes a turn. */
let slowWork = false;
/** Work outside a step (a KV read): immediate in the first execution, a turn later on replay. */
const work = () => (slowWork ? new Promise<void>((resolve) => setImmediate(resolve)) : Promise.resolve());

/** Two branches: on replay the wait reaches "approval" before the step.do of that name does. */
class Kinds extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const request = (async () => {
      await step.do("prepare", () => "p");
      await work(); // on replay the other branch, its sleep over, reaches "approval" first
      return step.do("approval", () => "approval requested");
    })();
    const decision = (async () => {
      await step.sleep("grace", "1 minute");
      return (await step.waitForEvent<string>("approval", { type: "approve", timeout: "1 hour" })).payload;
    })();
    return Promise.all([request, decision]);
  }
}

/** One name for every kind: `ctx.step.count` counts the step.do calls only. */
class Shared extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const first = await step.do("x", ({ step: { count } }) => count);
    await step.sleep("x", "1 hour");
    const second = await step.do("x", ({ step: { count } }) => count);
    return [first, second];
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function stepKeys(dataDir: string, instance: string): string[] {
  const db = new DatabaseSync(join(dataDir, "workflows.sqlite"));
  try {
    return db.prepare("SELECT key FROM steps WHERE instance = ? ORDER BY seq").all(instance).map((row) => String(row.key));
  } finally {
    db.close();
  }
}

describe("step occurrences per kind", () => {
  it("replays a step.do and a waitForEvent of the same name in either order", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Kinds }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Kinds as WorkflowBinding).create({ id: "k" });
    await t.clock.settle();
    slowWork = true;
    await t.clock.advance("2 minutes");
    await instance.sendEvent({ type: "approve", payload: "yes" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: ["approval requested", "yes"] });
  });

  it("counts only step.do calls in ctx.step.count", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Shared }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Shared as WorkflowBinding).create({ id: "s" });
    await t.clock.settle();
    await t.clock.advance("1 hour");
    expect(await instance.status()).toEqual({ status: "complete", output: [1, 2] });
  });

  it("keeps replaying an instance recorded with one counter per name under its old keys", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-step-kinds-"));
    try {
      const first = await createTestEnv({ agents: {}, workflows: { Shared }, start: Date.UTC(2031, 0, 1), dataDir });
      await (first.env.Shared as WorkflowBinding).create({ id: "old" });
      await first.clock.settle();
      await first.close();
      // As the earlier releases wrote it: the sleep is the second call named "x", under "1:x".
      const db = new DatabaseSync(join(dataDir, "workflows.sqlite"));
      try {
        const sleep = db.prepare("SELECT key FROM steps WHERE instance = 'old' AND kind = 'sleep'").get();
        db.prepare("UPDATE steps SET key = '1:x' WHERE instance = 'old' AND key = ?").run(String(sleep!.key));
      } finally {
        db.close();
      }
      t = await createTestEnv({ agents: {}, workflows: { Shared }, start: Date.UTC(2031, 0, 1), dataDir });
      await t.clock.advance("1 hour");
      const instance = await (t.env.Shared as WorkflowBinding).get("old");
      expect(await instance.status()).toEqual({ status: "complete", output: [1, 2] });
      await t.close();
      t = undefined;
      expect(stepKeys(dataDir, "old")).toEqual(["0:x", "1:x", "2:x"]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
