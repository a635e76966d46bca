// The agent's record of the workflows it started, as Cloudflare's docs/agents/workflows.md describes it:
// getWorkflow, getWorkflows (WorkflowPage), deleteWorkflow(s), restartWorkflow({ resetTracking }),
// getWorkflowStatus updating the row, the default id, and the documented error texts.
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import {
  AgentWorkflow,
  WorkflowEntrypoint,
  type AgentWorkflowEvent,
  type AgentWorkflowStep,
  type RunWorkflowOptions,
  type WorkflowBinding,
  type WorkflowDeleteCriteria,
  type WorkflowEvent,
  type WorkflowQueryCriteria,
  type WorkflowStep,
} from "../../src/workflow/index.ts";

const START = Date.UTC(2033, 2, 1);

class Board extends Agent {
  start(name: string, options?: RunWorkflowOptions) {
    return this.runWorkflow(name, {}, options);
  }
  async startMany(count: number) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await this.runWorkflow("Job", {}, { id: `job-${String(i).padStart(3, "0")}` }));
    return ids;
  }
  info(id: string) {
    return this.getWorkflow(id);
  }
  page(criteria?: WorkflowQueryCriteria) {
    return this.getWorkflows(criteria);
  }
  ids(criteria?: WorkflowQueryCriteria) {
    return this.getWorkflows(criteria).workflows.map((w) => w.workflowId);
  }
  /** The stored row, read without going through the API. */
  row(id: string) {
    return this.sql<{ status: string }>`SELECT status FROM cf_agents_workflows WHERE workflow_id = ${id}`[0];
  }
  status(name: string, id: string) {
    return this.getWorkflowStatus(name, id);
  }
  forget(id: string) {
    return this.deleteWorkflow(id);
  }
  forgetMany(criteria?: WorkflowDeleteCriteria) {
    return this.deleteWorkflows(criteria);
  }
  restart(id: string, options?: { resetTracking?: boolean }) {
    return this.restartWorkflow(id, options);
  }
  go(id: string, fail = false) {
    return this.sendWorkflowEvent(id, { type: "go", payload: { fail } });
  }
  approve(id: string) {
    return this.approveWorkflow(id);
  }
  pause(id: string) {
    return this.pauseWorkflow(id);
  }
  terminate(id: string) {
    return this.terminateWorkflow(id);
  }
  /** A tracking table as the first version of this runtime wrote it. */
  oldTable(rows: Array<{ id: string; name: string; at: number }>) {
    this.sql`CREATE TABLE _hearth_workflows (workflow_id TEXT NOT NULL, workflow_name TEXT NOT NULL, created_at INTEGER NOT NULL, metadata TEXT, PRIMARY KEY (workflow_name, workflow_id))`;
    for (const row of rows) this.sql`INSERT INTO _hearth_workflows VALUES (${row.id}, ${row.name}, ${row.at}, NULL)`;
  }
}

/** Waits for a "go" event, then completes or fails. */
class Job extends AgentWorkflow<Board> {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    const go = await step.waitForEvent<{ fail: boolean }>("go", { type: "go", timeout: "30 days" });
    if (go.payload.fail) throw new Error("the job failed");
    return "done";
  }
}

class Other extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    await step.sleep("nap", "30 days");
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function board(name = "b") {
  t ??= await createTestEnv({ agents: { Board }, workflows: { Job, Other }, start: START });
  return { t, b: t.get<Board>("Board", name) };
}

describe("tracking", () => {
  it("gives runWorkflow instances Cloudflare's id format and tracks each as WorkflowInfo", async () => {
    const { t, b } = await board();
    const id = await b.start("Job", { metadata: { userId: "u-1" } });
    expect(id).toMatch(/^wf_[A-Za-z0-9_-]{21}$/);
    expect(await b.start("Job")).not.toBe(id);
    await t.clock.settle();
    const info = await b.info(id);
    expect(info).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{21}$/),
      workflowId: id,
      workflowName: "Job",
      status: "waiting",
      metadata: { userId: "u-1" },
      error: null,
      createdAt: new Date(START),
      updatedAt: new Date(START),
      completedAt: null,
    });
    expect(await b.info("nope")).toBeUndefined();

    await t.clock.advance("1 hour");
    await b.go(id, true);
    await t.clock.settle();
    expect(await b.info(id)).toMatchObject({
      status: "errored",
      error: { name: "Error", message: "the job failed" },
      updatedAt: new Date(START + 3600_000),
      completedAt: new Date(START + 3600_000),
    });
    expect(await b.row(id)).toEqual({ status: "errored" }); // kept in the agent's own SQLite
  });

  it("records the status getWorkflowStatus and the controls see", async () => {
    const { t, b } = await board();
    const id = await b.start("Job");
    await t.clock.settle();
    await (await (t.env.Job as WorkflowBinding).get(id)).pause(); // behind the agent's back
    expect(await b.row(id)).toEqual({ status: "queued" }); // as recorded by runWorkflow
    expect(await b.status("Job", id)).toEqual({ status: "paused" });
    expect(await b.row(id)).toEqual({ status: "paused" });
    await b.terminate(id);
    expect(await b.row(id)).toEqual({ status: "terminated" });
  });

  it("pages newest first by default, 50 per page, at most 100, with a cursor through all of them", async () => {
    const { t, b } = await board();
    const ids = await b.startMany(120);
    await t.clock.advance("1 minute");
    const newest = await b.start("Other");
    await t.clock.settle();

    const first = await b.page();
    expect(first.total).toBe(121);
    expect(first.workflows).toHaveLength(50);
    expect(first.workflows[0]?.workflowId).toBe(newest);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect((await b.page({ limit: 500 })).workflows).toHaveLength(100);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 1; ; pages++) {
      const page = await b.page({ workflowName: "Job", orderBy: "asc", limit: 40, ...(cursor ? { cursor } : {}) });
      expect(page.total).toBe(120);
      seen.push(...page.workflows.map((w) => w.workflowId));
      if (page.nextCursor === null) {
        expect(pages).toBe(3);
        break;
      }
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(ids);
  });

  it("filters by status, binding name and metadata", async () => {
    const { t, b } = await board();
    const a = await b.start("Job", { metadata: { team: "red", size: 1, urgent: true } });
    const c = await b.start("Job", { metadata: { team: "blue", size: "1", urgent: false } });
    const o = await b.start("Other", { metadata: { team: "red" } });
    await t.clock.settle();
    await b.go(a);
    await t.clock.settle();
    expect(await b.ids({ status: "complete" })).toEqual([a]);
    expect((await b.ids({ status: ["waiting", "complete"] })).sort()).toEqual([a, c, o].sort());
    expect((await b.ids({ workflowName: "Job" })).sort()).toEqual([a, c].sort());
    expect((await b.ids({ metadata: { team: "red" } })).sort()).toEqual([a, o].sort());
    expect(await b.ids({ metadata: { size: 1 } })).toEqual([a]); // the number, not the string "1"
    expect(await b.ids({ metadata: { size: "1" } })).toEqual([c]);
    expect(await b.ids({ metadata: { urgent: false } })).toEqual([c]);
    const page = await b.page({ metadata: { team: "red" }, status: "waiting" });
    expect({ ids: page.workflows.map((w) => w.workflowId), total: page.total }).toEqual({ ids: [o], total: 1 });
  });

  it("refuses criteria it cannot honour, with clear errors", async () => {
    const { b } = await board();
    await b.start("Job");
    await expect(b.page({ limit: 0 })).rejects.toThrow(/^getWorkflows\(\{ limit \}\): a whole number from 1 \(at most 100 per page\), got 0$/);
    await expect(b.page({ status: "bogus" as never })).rejects.toThrow(/unknown status "bogus"/);
    await expect(b.page({ cursor: "garbage" })).rejects.toThrow(/^Invalid pagination cursor\. The cursor may be malformed or corrupted\.$/);
    await expect(b.page({ metadata: { nested: {} as never } })).rejects.toThrow(/values are strings, finite numbers or booleans/);
  });

  it("deletes tracking rows, one or by criteria, leaving the instances alone", async () => {
    const { t, b } = await board();
    const old = await b.start("Job");
    await t.clock.settle();
    await b.go(old);
    await t.clock.advance("8 days");
    const recent = await b.start("Job");
    const waiting = await b.start("Job");
    await t.clock.settle();
    await b.go(recent);
    await t.clock.settle();

    expect(await b.forget(waiting)).toBe(true);
    expect(await b.forget(waiting)).toBe(false);
    expect(await b.info(waiting)).toBeUndefined();
    expect((await (await (t.env.Job as WorkflowBinding).get(waiting)).status()).status).toBe("waiting");

    expect(await b.forgetMany({ status: "complete", createdBefore: new Date(START + 7 * 86_400_000) })).toBe(1);
    expect(await b.ids()).toEqual([recent]);
    expect(await b.forgetMany()).toBe(1);
    expect((await b.page()).total).toBe(0);
  });

  it("restarts an instance, resetting its tracking unless told not to", async () => {
    const { t, b } = await board();
    const id = await b.start("Job");
    await t.clock.settle();
    await b.go(id, true);
    await t.clock.advance("1 day");
    await b.restart(id, { resetTracking: false });
    await t.clock.settle();
    expect(await b.info(id)).toMatchObject({ status: "waiting", error: null, createdAt: new Date(START), completedAt: null });

    await b.go(id, true);
    await t.clock.advance("1 day");
    await b.restart(id);
    expect(await b.row(id)).toEqual({ status: "queued" });
    expect(await b.info(id)).toMatchObject({ error: null, createdAt: new Date(START + 2 * 86_400_000), completedAt: null });
  });

  it("uses Cloudflare's error texts for unknown bindings, untracked ids and duplicate ids", async () => {
    const { t, b } = await board();
    await expect(b.start("Nope")).rejects.toThrow(/^Workflow binding 'Nope' not found in environment \(workflow bindings: Job, Other\)$/);
    await expect(b.approve("ghost")).rejects.toThrow(/^Workflow ghost not found in tracking table$/);
    await expect(b.pause("ghost")).rejects.toThrow(/^Workflow ghost not found in tracking table$/);
    await expect(b.restart("ghost")).rejects.toThrow(/^Workflow ghost not found in tracking table$/);

    await b.start("Job", { id: "dup" });
    await expect(b.start("Other", { id: "dup" })).rejects.toThrow(/^Workflow with ID "dup" is already being tracked$/);
    await expect((t.env.Other as WorkflowBinding).get("dup")).rejects.toThrow(/has no instance "dup"/);
    // An instance the agent could not create leaves no row behind.
    await (t.env.Job as WorkflowBinding).create({ id: "taken" });
    await expect(b.start("Job", { id: "taken" })).rejects.toThrow(/already exists/);
    expect(await b.info("taken")).toBeUndefined();
    await expect(b.start("Job", { id: "bad id!" })).rejects.toThrow(/Invalid workflow instance id/);
    await expect(b.start("Job", { agentBinding: "Nope" })).rejects.toThrow(/^Agent binding 'Nope' not found in environment$/);
    expect((await b.page()).total).toBe(1);
  });

  it("moves rows of the first tracking table into the documented shape", async () => {
    const { t, b } = await board("legacy");
    await (t.env.Job as WorkflowBinding).create({ id: "kept" });
    await t.clock.settle();
    await b.oldTable([{ id: "kept", name: "Job", at: START - 1000 }]);
    expect(await b.info("kept")).toMatchObject({ workflowId: "kept", workflowName: "Job", status: "waiting", createdAt: new Date(START - 1000) });
  });
});
