// AgentWorkflow as Cloudflare's docs/agents/workflows.md describes it: this.agent, reportProgress,
// broadcastToClients, waitForApproval, and the durable step messages to the agent.
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import {
  AgentWorkflow,
  type AgentWorkflowEvent,
  type AgentWorkflowStep,
  type WorkflowBinding,
  type WorkflowCallback,
} from "../../src/workflow/index.ts";

type Mode = "return" | "reportComplete" | "reportError" | "fail";

class Studio extends Agent<unknown, { count: number; tag?: string }> {
  initialState = { count: 0 };
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS log (entry TEXT)`;
  }
  start(mode: Mode) {
    return this.runWorkflow("Pipeline", { mode });
  }
  expense(amount: number) {
    return this.runWorkflow("Expense", { amount });
  }
  note(text: string) {
    this.sql`INSERT INTO log VALUES (${text})`;
  }
  log() {
    return this.sql<{ entry: string }>`SELECT entry FROM log ORDER BY rowid`.map((row) => row.entry);
  }
  approve(id: string, approvedBy: string) {
    return this.approveWorkflow(id, { reason: "fine", metadata: { approvedBy } });
  }
  reject(id: string, reason: string) {
    return this.rejectWorkflow(id, { reason });
  }
  info(id: string) {
    return this.getWorkflow(id);
  }
  override onWorkflowProgress(name: string, id: string, progress: unknown) {
    this.note(`progress ${name}/${id} ${JSON.stringify(progress)}`);
  }
  override onWorkflowComplete(name: string, id: string, result?: unknown) {
    this.note(`complete ${name}/${id} ${JSON.stringify(result)}`);
  }
  override onWorkflowError(name: string, id: string, error: string) {
    this.note(`error ${name}/${id} ${error}`);
  }
  override onWorkflowEvent(name: string, id: string, event: unknown) {
    this.note(`event ${name}/${id} ${JSON.stringify(event)}`);
  }
}

/** Handles every callback in one place. */
class Central extends Agent {
  start() {
    return this.runWorkflow("Pipeline", { mode: "return" });
  }
  note(_text: string) {}
  override onWorkflowCallback(callback: WorkflowCallback) {
    this.sql`CREATE TABLE IF NOT EXISTS callbacks (json TEXT)`;
    this.sql`INSERT INTO callbacks VALUES (${JSON.stringify(callback)})`;
  }
  callbacks() {
    return this.sql<{ json: string }>`SELECT json FROM callbacks ORDER BY rowid`.map((row) => JSON.parse(row.json) as WorkflowCallback);
  }
}

class Pipeline extends AgentWorkflow<Studio, { mode: Mode }, { stage: string }> {
  async run(event: AgentWorkflowEvent<{ mode: Mode }>, step: AgentWorkflowStep) {
    await step.do("note", () => this.agent.note(`ran ${this.workflowName}/${this.instanceId}`));
    await this.reportProgress({ stage: "noted" });
    await this.broadcastToClients({ type: "custom", id: this.instanceId });
    await step.updateAgentState({ count: 1 });
    await step.mergeAgentState({ tag: "merged" });
    await step.sendEvent({ kind: "halfway" });
    await step.sleep("pause", "1 hour"); // the rest runs in a new execution that replays everything above
    await this.reportProgress({ stage: "woke" }); // first reported in that execution: after the last recorded step
    if (event.payload.mode === "reportComplete") {
      await step.reportComplete({ early: true });
      return { late: true };
    }
    if (event.payload.mode === "reportError") {
      await step.reportError(new Error("soft failure"));
      throw new Error("hard failure");
    }
    if (event.payload.mode === "fail") throw new Error("boom");
    await step.resetAgentState();
    return { done: true };
  }
}

class Expense extends AgentWorkflow<Studio, { amount: number }> {
  async run(event: AgentWorkflowEvent<{ amount: number }>, step: AgentWorkflowStep) {
    const approval = await this.waitForApproval<{ approvedBy: string }>(step, { timeout: "7 days" });
    await step.do("pay", () => this.agent.note(`paid ${event.payload.amount}, approved by ${approval.approvedBy}`));
    return approval;
  }
}

/** Not started by an agent: it has no agent state to change. */
class Loose extends AgentWorkflow {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    await step.updateAgentState({ count: 5 });
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function env(): Promise<TestEnv> {
  t = await createTestEnv({
    agents: { Studio, Central },
    workflows: { Pipeline, Expense, Loose },
    start: Date.UTC(2032, 0, 1),
  });
  return t;
}

describe("AgentWorkflow", () => {
  it("calls the agent, reports progress, broadcasts, changes its state, and sends each durable message once", async () => {
    const t = await env();
    const client = await t.connect<{ count: number; tag?: string }>("Studio", "s1");
    const messages: Array<Record<string, unknown>> = [];
    client.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (frame.type === "custom" || frame.type === "cf_agent_state") messages.push(frame);
    });
    const studio = t.get<Studio>("Studio", "s1");
    const id = await studio.start("return");
    await t.clock.settle();
    await expect.poll(() => client.state).toEqual({ count: 1, tag: "merged" });

    await t.clock.advance("1 hour"); // a new execution replays the recorded steps
    expect(await studio.log()).toEqual([
      `ran Pipeline/${id}`,
      `progress Pipeline/${id} {"stage":"noted"}`,
      `event Pipeline/${id} {"kind":"halfway"}`,
      `progress Pipeline/${id} {"stage":"woke"}`,
      `complete Pipeline/${id} {"done":true}`,
    ]);
    await expect.poll(() => client.state).toEqual({ count: 0 }); // resetAgentState: back to initialState
    expect(messages.filter((m) => m.type === "custom")).toEqual([{ type: "custom", id }]);
    const states = messages.filter((m) => m.type === "cf_agent_state").map((m) => m.state as { count: number });
    // (The state frame sent on connect may come before or after the listener was added.)
    expect(states.slice(states.findIndex((state) => state.count === 1))).toEqual([
      { count: 1 },
      { count: 1, tag: "merged" },
      { count: 0 },
    ]);
    expect(await studio.info(id)).toMatchObject({ workflowId: id, workflowName: "Pipeline", status: "complete", error: null });
  });

  it("reports an explicit completion once, not again when run returns", async () => {
    const t = await env();
    const studio = t.get<Studio>("Studio", "s2");
    const id = await studio.start("reportComplete");
    await t.clock.advance("1 hour");
    expect((await studio.log()).filter((line) => line.startsWith("complete"))).toEqual([`complete Pipeline/${id} {"early":true}`]);
    expect(await (await (t.env.Pipeline as WorkflowBinding).get(id)).status()).toEqual({ status: "complete", output: { late: true } });
  });

  it("reports a throw from run as an error, once; after step.reportError only the reported one", async () => {
    const t = await env();
    const studio = t.get<Studio>("Studio", "s3");
    const failing = await studio.start("fail");
    const reporting = await studio.start("reportError");
    await t.clock.advance("1 hour");
    const errors = (await studio.log()).filter((line) => line.startsWith("error"));
    expect(errors.sort()).toEqual([`error Pipeline/${failing} boom`, `error Pipeline/${reporting} soft failure`].sort());
    expect(await studio.info(reporting)).toMatchObject({ status: "errored", error: { name: "Error", message: "hard failure" } });
    expect((await studio.info(failing))?.completedAt).toEqual(new Date(Date.UTC(2032, 0, 1, 1)));
  });

  it("hands every callback to onWorkflowCallback when the agent overrides it", async () => {
    const t = await env();
    const central = t.get<Central>("Central", "c1");
    const id = await central.start();
    await t.clock.advance("1 hour");
    const callbacks = await central.callbacks();
    expect(callbacks.map(({ type }) => type)).toEqual(["progress", "event", "progress", "complete"]);
    expect(callbacks[3]).toEqual({ workflowName: "Pipeline", workflowId: id, type: "complete", result: { done: true }, timestamp: Date.UTC(2032, 0, 1, 1) });
    expect(callbacks[0]).toMatchObject({ type: "progress", progress: { stage: "noted" } });
  });

  it("waitForApproval returns the approval's metadata", async () => {
    const t = await env();
    const studio = t.get<Studio>("Studio", "s4");
    const id = await studio.expense(120);
    await t.clock.settle();
    await studio.approve(id, "ada");
    await t.clock.settle();
    expect(await (await (t.env.Expense as WorkflowBinding).get(id)).status()).toEqual({ status: "complete", output: { approvedBy: "ada" } });
    expect(await studio.log()).toContain("paid 120, approved by ada");
  });

  it("waitForApproval reports a rejection's reason to the agent and throws a WorkflowRejectedError", async () => {
    const t = await env();
    const studio = t.get<Studio>("Studio", "s5");
    const id = await studio.expense(9000);
    await t.clock.settle();
    await studio.reject(id, "over budget");
    await t.clock.settle();
    expect(await studio.log()).toEqual([`error Expense/${id} over budget`]);
    expect(await studio.info(id)).toMatchObject({ status: "errored", error: { name: "WorkflowRejectedError", message: "Workflow rejected: over budget" } });
  });

  it("refuses to change agent state for an instance no agent started, without retrying", async () => {
    const t = await env();
    const instance = await (t.env.Loose as WorkflowBinding).create({ id: "loose" });
    await t.clock.settle();
    const status = await instance.status();
    expect(status.status).toBe("errored");
    expect(status.error?.message).toMatch(/^Loose instance loose was not started by an agent/);
  });
});
