// The tracking table under the SDK's name, `cf_agents_workflows`: an agent's own SQL reads and writes
// it as Cloudflare's examples do (examples/workflows keeps its UI state in the row's metadata), and an
// agent file written with the table's earlier name keeps its rows.
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "../../src/workflow/index.ts";

const START = Date.UTC(2033, 4, 1);

interface Row {
  workflow_id: string;
  workflow_name: string;
  status: string;
  metadata: string | null;
}

/** Keeps UI state in the tracking row's metadata, like the example's TaskAgent. */
class Tasks extends Agent {
  submit(taskName: string) {
    return this.runWorkflow("Task", { taskName }, { metadata: { taskName } });
  }
  approve(id: string) {
    return this.approveWorkflow(id, { reason: "ok" });
  }
  rows() {
    return this.sql<Row>`SELECT workflow_id, workflow_name, status, metadata FROM cf_agents_workflows ORDER BY created_at`;
  }
  clearFinished() {
    this.sql`DELETE FROM cf_agents_workflows WHERE status IN ('complete', 'errored')`;
    return this.getWorkflows().total;
  }
  info(id: string) {
    return this.getWorkflow(id);
  }
  #setMetadata(id: string, patch: Record<string, unknown>) {
    const metadata = { ...(this.getWorkflow(id)?.metadata ?? {}), ...patch };
    this.sql`UPDATE cf_agents_workflows SET metadata = ${JSON.stringify(metadata)} WHERE workflow_id = ${id}`;
  }
  override onWorkflowProgress(_name: string, id: string, progress: unknown) {
    this.#setMetadata(id, { lastProgress: progress });
  }
  override onWorkflowComplete(_name: string, id: string, result?: unknown) {
    this.#setMetadata(id, { lastProgress: null, result });
    this.sql`UPDATE cf_agents_workflows SET status = 'complete' WHERE workflow_id = ${id}`;
  }
  /** The tracking table as an agent file of an earlier version holds it. */
  earlierTable(id: string) {
    this.sql`CREATE TABLE _hearth_workflows (
      id TEXT PRIMARY KEY NOT NULL, workflow_id TEXT NOT NULL UNIQUE, workflow_name TEXT NOT NULL,
      status TEXT NOT NULL, metadata TEXT, error_name TEXT, error_message TEXT,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, completed_at INTEGER)`;
    this.sql`CREATE INDEX _hearth_workflows_by_created ON _hearth_workflows (created_at, workflow_id)`;
    this.sql`INSERT INTO _hearth_workflows (id, workflow_id, workflow_name, status, metadata, created_at, updated_at, completed_at)
      VALUES ('r1', ${id}, 'Task', 'complete', '{"taskName":"old"}', ${START - 1000}, ${START - 1000}, ${START - 1000})`;
  }
  tables() {
    return this.sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%workflows%' ORDER BY name`.map((row) => row.name);
  }
}

class Task extends AgentWorkflow<Tasks, { taskName: string }> {
  async run(event: AgentWorkflowEvent<{ taskName: string }>, step: AgentWorkflowStep) {
    await this.reportProgress({ step: "process", status: "complete", percent: 0.5 });
    await this.waitForApproval(step, { timeout: "1 hour" });
    const result = await step.do("finalize", () => ({ done: event.payload.taskName }));
    await step.reportComplete(result);
    return result;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("cf_agents_workflows", () => {
  it("is the tracking table the agent's own SQL updates, reads and deletes from, as on Cloudflare", async () => {
    t = await createTestEnv({ agents: { Tasks }, workflows: { Task }, start: START });
    const agent = t.get<Tasks>("Tasks", "demo");
    const id = await agent.submit("one");
    await t.clock.settle();
    const waiting = (await agent.rows())[0];
    expect(waiting).toMatchObject({ workflow_id: id, workflow_name: "Task" });
    expect(JSON.parse(waiting?.metadata ?? "null")).toEqual({ taskName: "one", lastProgress: { step: "process", status: "complete", percent: 0.5 } });

    await agent.approve(id);
    await t.clock.settle();
    const info = await agent.info(id);
    expect(info).toMatchObject({ status: "complete", error: null, metadata: { taskName: "one", lastProgress: null, result: { done: "one" } } });
    expect(await agent.rows()).toEqual([expect.objectContaining({ workflow_id: id, status: "complete" })]);

    expect(await agent.clearFinished()).toBe(0);
    expect(await agent.rows()).toEqual([]);
  });

  it("takes over the rows of an agent file that has the table under its earlier name", async () => {
    t = await createTestEnv({ agents: { Tasks }, workflows: { Task }, start: START });
    const agent = t.get<Tasks>("Tasks", "older");
    await agent.earlierTable("wf_old");
    expect(await agent.info("wf_old")).toMatchObject({ workflowId: "wf_old", status: "complete", metadata: { taskName: "old" } });
    expect(await agent.tables()).toEqual(["cf_agents_workflows"]);
    const id = await agent.submit("two");
    await t.clock.settle();
    expect((await agent.rows()).map((row) => row.workflow_id)).toEqual(["wf_old", id]);
  });
});
