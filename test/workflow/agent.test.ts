import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

class Desk extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
  }
  start(email: string, id?: string) {
    return this.runWorkflow("Outreach", { email }, id ? { id, metadata: { email } } : { metadata: { email } });
  }
  note(text: string) {
    this.sql`INSERT INTO notes VALUES (${text})`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]!.n;
  }
  notes() {
    return this.sql<{ text: string }>`SELECT text FROM notes ORDER BY rowid`.map((row) => row.text);
  }
  status(id: string) {
    return this.getWorkflowStatus(id);
  }
  approve(id: string) {
    return this.approveWorkflow(id, { reason: "looks good" });
  }
  reject(id: string) {
    return this.rejectWorkflow(id, { reason: "off-brand" });
  }
  tracked() {
    return this.getWorkflows().workflows.map((w) => ({ id: w.workflowId, name: w.workflowName, metadata: w.metadata }));
  }
  statuses() {
    return this.getWorkflows().workflows.map((w) => ({ status: w.status, error: w.error }));
  }
  stop(id: string) {
    return this.terminateWorkflow(id);
  }
  statusOf(name: string, id: string) {
    return this.getWorkflowStatus(name, id);
  }
}

class Outreach extends WorkflowEntrypoint<unknown, { email: string }, Desk> {
  async run(event: WorkflowEvent<{ email: string }>, step: WorkflowStep) {
    const count = await step.do("research", () => this.agent.note(`researched ${event.payload.email}`));
    await this.reportProgress({ step: "research", percent: 0.5, notes: count });
    const { reason } = await this.waitForApproval(step, { timeout: "7 days" });
    await step.do("send", () => this.agent.note(`sent (${reason})`));
    await this.reportProgress({ step: "send", percent: 1 });
    return "sent";
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function env() {
  t ??= await createTestEnv({ agents: { Desk }, workflows: { Outreach }, start: Date.UTC(2031, 0, 1) });
  return t;
}

describe("workflows started by an agent", () => {
  it("call back into the agent, report progress to its clients, and wait for its approval", async () => {
    const t = await env();
    const client = await t.connect("Desk", "sales");
    const frames: Array<Record<string, unknown>> = [];
    client.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (String(frame.type).startsWith("workflow_")) frames.push(frame);
    });
    const desk = t.get<Desk>("Desk", "sales");
    const id = await desk.start("ada@example.com", "ada");
    await t.clock.settle();
    expect(await desk.status(id)).toEqual({ status: "waiting" });
    expect(await desk.notes()).toEqual(["researched ada@example.com"]);
    expect(await desk.tracked()).toEqual([{ id: "ada", name: "Outreach", metadata: { email: "ada@example.com" } }]);

    await t.restart(); // the approval comes after a restart, two days later
    await t.clock.advance("2 days");
    const again = t.get<Desk>("Desk", "sales");
    await again.approve(id);
    await t.clock.settle();
    expect(await again.status(id)).toEqual({ status: "complete", output: "sent" });
    expect(await again.notes()).toEqual(["researched ada@example.com", "sent (looks good)"]);
    // Frames reached the client connected before the restart only until it closed; check the first one.
    expect(frames[0]).toEqual({
      type: "workflow_progress",
      workflowName: "Outreach",
      workflowId: "ada",
      progress: { step: "research", percent: 0.5, notes: 1 },
    });
  });

  it("broadcasts progress and completion to clients connected at the time, without replaying progress", async () => {
    const t = await env();
    const desk = t.get<Desk>("Desk", "ops");
    const id = await desk.start("bob@example.com");
    await t.clock.settle();
    const client = await t.connect("Desk", "ops");
    const frames: Array<Record<string, unknown>> = [];
    client.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (String(frame.type).startsWith("workflow_")) frames.push(frame);
    });
    await desk.approve(id);
    await t.clock.settle();
    await expect.poll(() => frames.length).toBe(2); // frames cross a real socket
    expect(frames).toEqual([
      { type: "workflow_progress", workflowName: "Outreach", workflowId: id, progress: { step: "send", percent: 1 } },
      { type: "workflow_complete", workflowName: "Outreach", workflowId: id },
    ]);
  });

  it("fails the instance on rejection and tells the agent", async () => {
    const t = await env();
    const desk = t.get<Desk>("Desk", "legal");
    const id = await desk.start("eve@example.com");
    await t.clock.settle();
    await desk.reject(id);
    await t.clock.settle();
    expect(await desk.status(id)).toEqual({
      status: "errored",
      error: { name: "WorkflowRejectedError", message: "Workflow rejected: off-brand" },
    });
    expect(await desk.statuses()).toEqual([{ status: "errored", error: { name: "WorkflowRejectedError", message: "Workflow rejected: off-brand" } }]);
    expect(await desk.notes()).toEqual(["researched eve@example.com"]);
    await expect(desk.approve(id)).rejects.toThrow(`Cannot approve workflow instance ${id}: it is errored, no longer waiting for a decision`);
  });

  it("times out an approval that never comes, and refuses ids it does not know", async () => {
    const t = await env();
    const desk = t.get<Desk>("Desk", "slow");
    const id = await desk.start("zed@example.com");
    await t.clock.advance("7 days");
    expect((await desk.status(id)).error?.name).toBe("WorkflowTimeoutError");
    await expect(desk.status("nope")).rejects.toThrow(/^Workflow nope not found in tracking table/);
    await expect(desk.statusOf("Outreach", "nope")).resolves.toEqual({ status: "unknown" });
    await expect(desk.statusOf("Nothing", "x")).rejects.toThrow(/^Workflow binding 'Nothing' not found in environment \(workflow bindings: Outreach\)$/);
  });
});
