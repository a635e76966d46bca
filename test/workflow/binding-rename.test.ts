// A renamed workflow binding: the start-up warning and migrateWorkflowBinding (docs/agents/workflows.md,
// "Handle workflow binding renames carefully").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "../../src/workflow/index.ts";

class Keeper extends Agent {
  start(name: string) {
    return this.runWorkflow(name, {});
  }
  go(id: string) {
    return this.sendWorkflowEvent(id, { type: "go" });
  }
  migrate(from: string, to: string) {
    return this.migrateWorkflowBinding(from, to);
  }
  names() {
    return this.getWorkflows().workflows.map((w) => w.workflowName);
  }
}

class Task extends AgentWorkflow<Keeper> {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    await step.waitForEvent("go", { type: "go" });
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

it("warns at start-up about rows of an unknown binding, with the call that moves them", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-rename-"));
  dirs.push(dataDir);
  t = await createTestEnv({ agents: { Keeper }, workflows: { OLD_TASKS: Task }, dataDir });
  const before = t.get<Keeper>("Keeper", "k");
  const done = await before.start("OLD_TASKS");
  await before.start("OLD_TASKS");
  await t.clock.settle();
  await before.go(done);
  await t.clock.settle();
  await t.close();

  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {}); // the engine's note about unbound instances
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  t = await createTestEnv({ agents: { Keeper }, workflows: { NEW_TASKS: Task }, dataDir });
  const after = t.get<Keeper>("Keeper", "k");
  expect(await after.names()).toEqual(["OLD_TASKS", "OLD_TASKS"]);
  expect(warn.mock.calls).toEqual([
    [
      "[hearth] Keeper/k: Found 2 workflow(s) referencing unknown binding 'OLD_TASKS' (1 active, 1 completed). " +
        "If you renamed the binding, call: this.migrateWorkflowBinding('OLD_TASKS', 'NEW_TASKS')",
    ],
  ]);

  await expect(after.migrate("OLD_TASKS", "MISSING")).rejects.toThrow(/^Workflow binding 'MISSING' not found in environment/);
  expect(await after.migrate("OLD_TASKS", "NEW_TASKS")).toBe(2);
  expect(log.mock.calls).toEqual([["[hearth] Keeper/k: migrated 2 workflow(s) from 'OLD_TASKS' to 'NEW_TASKS'"]]);
  expect(await after.names()).toEqual(["NEW_TASKS", "NEW_TASKS"]);
  expect(await after.migrate("OLD_TASKS", "NEW_TASKS")).toBe(0);
});
