// `runWorkflow(name, params, { retention })` forwards retention to the instance unchanged; the agent's
// tracking row (getWorkflow) is not affected: it stays, with the end the agent saw, after the instance
// record is gone.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import {
  AgentWorkflow,
  WorkflowStateError,
  type AgentWorkflowEvent,
  type AgentWorkflowStep,
  type RunWorkflowOptions,
  type WorkflowBinding,
} from "../../src/workflow/index.ts";

const START = Date.UTC(2034, 6, 1);
/** Released by a test to let the agent take events again. */
let gate = Promise.withResolvers<void>();

class Desk extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS ended (workflow_id TEXT, outcome TEXT)`;
  }
  start(name: string, options?: RunWorkflowOptions) {
    return this.runWorkflow(name, {}, options);
  }
  info(id: string) {
    return this.getWorkflow(id);
  }
  total() {
    return this.getWorkflows().total;
  }
  status(name: string, id: string) {
    return this.getWorkflowStatus(name, id);
  }
  /** Takes no other event until the test opens the gate. */
  async busy() {
    await this.ctx.blockConcurrencyWhile(() => gate.promise);
  }
  go(id: string) {
    return this.sendWorkflowEvent(id, { type: "go" });
  }
  ended() {
    return this.sql<{ workflow_id: string; outcome: string }>`SELECT workflow_id, outcome FROM ended ORDER BY rowid`;
  }
  override onWorkflowComplete(_name: string, id: string, result?: unknown) {
    this.sql`INSERT INTO ended VALUES (${id}, ${String(result)})`;
  }
  override onWorkflowError(_name: string, id: string, error: string) {
    this.sql`INSERT INTO ended VALUES (${id}, ${error})`;
  }
}

/** Waits for "go", then completes. */
class Task extends AgentWorkflow<Desk> {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    await step.waitForEvent("go", { type: "go", timeout: "30 days" });
    return "ok";
  }
}

/** Ends at once: completes, or fails when its id says so. */
class Quick extends AgentWorkflow<Desk> {
  async run(event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    await step.do("work", () => "worked");
    if (event.instanceId.startsWith("fail")) throw new Error("quick failure");
    return "quick";
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  gate.resolve();
  gate = Promise.withResolvers<void>();
  await t?.close();
  t = undefined;
});

async function desk() {
  t = await createTestEnv({ agents: { Desk }, workflows: { Task, Quick }, start: START });
  return { t, d: t.get<Desk>("Desk", "front") };
}

const instanceExists = (t: TestEnv, name: string, id: string) =>
  (t.env[name] as WorkflowBinding).get(id).then(
    () => true,
    (error: unknown) => {
      if (error instanceof WorkflowStateError) return false;
      throw error;
    },
  );

describe("runWorkflow retention", () => {
  it("passes retention to the instance; the agent's tracking row stays after the record is gone", async () => {
    const { t, d } = await desk();
    const id = await d.start("Task", { id: "t1", metadata: { kind: "report" }, retention: { successRetention: "1 hour" } });
    const kept = await d.start("Task", { id: "t2" });
    await t.clock.settle();
    await t.clock.advance("10 minutes");
    await d.go(id);
    await d.go(kept);
    await t.clock.settle();
    const ended = { status: "complete", metadata: { kind: "report" }, completedAt: new Date(START + 600_000) };
    expect(await d.info(id)).toMatchObject(ended);

    await t.clock.advance("59 minutes");
    expect(await instanceExists(t, "Task", id)).toBe(true);
    await t.clock.advance("1 minute");
    expect(await instanceExists(t, "Task", id)).toBe(false);
    expect(await instanceExists(t, "Task", kept)).toBe(true);
    expect(await d.status("Task", id)).toEqual({ status: "unknown" });
    expect(await d.info(id)).toMatchObject(ended); // getWorkflowStatus left the row as it was
    expect(await d.total()).toBe(2);
    expect(await d.ended()).toEqual([
      { workflow_id: id, outcome: "ok" },
      { workflow_id: kept, outcome: "ok" },
    ]);
  });

  it("lets the agent hear of the end before a retention of 0 removes the record", async () => {
    const { t, d } = await desk();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await d.start("Quick", { id: `done-${i}`, retention: { successRetention: 0, errorRetention: 0 } }));
      ids.push(await d.start("Quick", { id: `fail-${i}`, retention: { successRetention: 0, errorRetention: 0 } }));
    }
    await t.clock.settle();
    for (const id of ids) {
      expect(await instanceExists(t, "Quick", id)).toBe(false);
      const errored = id.startsWith("fail");
      expect(await d.info(id)).toMatchObject(
        errored ? { status: "errored", error: { name: "Error", message: "quick failure" } } : { status: "complete", error: null },
      );
    }
    expect((await d.ended()).length).toBe(ids.length);
  });

  it("keeps the record of an ended instance while the agent is too busy to hear of the end", async () => {
    const { t, d } = await desk();
    const id = await d.start("Task", { id: "late", retention: { successRetention: 0 } });
    await t.clock.settle();
    const busy = d.busy();
    const instance = await (t.env.Task as WorkflowBinding).get(id);
    await instance.sendEvent({ type: "go" }); // behind the agent's back: its callback waits at the gate
    await vi.waitFor(async () => expect(["complete", "unknown"]).toContain((await instance.status()).status));
    expect(await instance.status()).toEqual({ status: "complete", output: "ok" });
    gate.resolve();
    await busy;
    await t.clock.settle();
    expect(await instanceExists(t, "Task", id)).toBe(false);
    expect(await d.info(id)).toMatchObject({ status: "complete" });
    expect(await d.ended()).toEqual([{ workflow_id: id, outcome: "ok" }]);
  });

  it("refuses a bad retention before anything is tracked or created", async () => {
    const { t, d } = await desk();
    await expect(d.start("Task", { id: "bad", retention: { successRetention: "a while" } })).rejects.toThrow(
      /runWorkflow\(…, \{ retention \}\): retention\.successRetention "a while" is not a duration/,
    );
    await expect(d.start("Task", { id: "bad", retention: { successRetention: "11 years" } })).rejects.toThrow(/maxWorkflowRetentionMs/);
    expect(await d.total()).toBe(0);
    expect(await instanceExists(t, "Task", "bad")).toBe(false);
    // The id was not taken: a good call goes through.
    expect(await d.start("Task", { id: "bad", retention: { errorRetention: "1 day" } })).toBe("bad");
  });
});
