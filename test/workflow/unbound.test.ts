// Instances of a workflow class that a host no longer binds: they wait until it is bound again.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const START = Date.UTC(2031, 2, 1);
const HOUR = 3600_000;

class Sleeper extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    await step.sleep("nap", "1 hour");
    return "awake";
  }
}

class Other extends WorkflowEntrypoint {
  async run() {
    return "other";
  }
}

const dirs: string[] = [];
let t: TestEnv | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
  t = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it("wakes an instance whose timer fired while its class was unbound, once the class is bound again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-unbound-"));
  dirs.push(dataDir);
  t = await createTestEnv({ agents: {}, workflows: { Sleeper, Other }, dataDir, start: START });
  await (t.env.Sleeper as WorkflowBinding).create({ id: "s" });
  await t.clock.advance("1 minute");
  await t.close();

  const errors = vi.spyOn(console, "error").mockImplementation(() => {});
  t = await createTestEnv({ agents: {}, workflows: { Other }, dataDir, start: START + 2 * HOUR });
  // The sleeping instance is counted too, though nothing would start it now.
  expect(errors.mock.calls).toContainEqual(["[hearth] 1 unfinished instance(s) of workflow Sleeper, which is no longer bound; they wait until it is"]);
  await t.clock.advance("1 minute"); // its timer fires now, with no class to run it
  await t.close();
  vi.restoreAllMocks();

  t = await createTestEnv({ agents: {}, workflows: { Sleeper, Other }, dataDir, start: START + 3 * HOUR });
  await t.clock.advance("1 day");
  expect(await (await (t.env.Sleeper as WorkflowBinding).get("s")).status()).toEqual({ status: "complete", output: "awake" });
});
