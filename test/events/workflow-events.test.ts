import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";
import { collect, type Collected } from "./collect.ts";

class Desk extends Agent {
  start(id: string) {
    return this.runWorkflow("Review", { doc: id }, { id });
  }
  approve(id: string) {
    return this.approveWorkflow(id, { reason: "fine" });
  }
  reject(id: string) {
    return this.rejectWorkflow(id, { reason: "no" });
  }
  send(id: string) {
    return this.sendWorkflowEvent("Review", id, { type: "poke", payload: 1 });
  }
  pause(id: string) {
    return this.pauseWorkflow(id);
  }
  resume(id: string) {
    return this.resumeWorkflow(id);
  }
  stop(id: string) {
    return this.terminateWorkflow(id);
  }
  restart(id: string) {
    return this.restartWorkflow(id);
  }
}

class Review extends WorkflowEntrypoint<unknown, { doc: string }, Desk> {
  async run(_event: WorkflowEvent<{ doc: string }>, step: WorkflowStep) {
    await step.waitForEvent("poke", { type: "poke", timeout: "1 day" });
    await this.waitForApproval(step, { timeout: "7 days" });
    return "done";
  }
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
});

async function env(): Promise<{ t: TestEnv; seen: Collected }> {
  t = await createTestEnv({ agents: { Desk }, workflows: { Review }, start: Date.UTC(2031, 0, 1) });
  seen = collect();
  return { t, seen };
}

describe("workflow events", () => {
  it("workflow:start, event, approved; rejected; paused, resumed, restarted, terminated", async () => {
    const { t, seen } = await env();
    const desk = t.get<Desk>("Desk", "d1");
    await desk.start("a");
    await t.clock.settle();
    await desk.send("a");
    await t.clock.settle();
    await desk.approve("a");
    await t.clock.settle();
    await desk.start("b");
    await t.clock.settle();
    await desk.send("b");
    await t.clock.settle();
    await desk.reject("b");
    await t.clock.settle();
    await desk.start("c");
    await t.clock.settle();
    await desk.pause("c");
    await desk.resume("c");
    await desk.restart("c");
    await desk.stop("c");
    expect(seen.of("d1")).toEqual([
      ["workflow:start", { workflowId: "a", workflowName: "Review" }],
      ["workflow:event", { workflowId: "a", eventType: "poke" }],
      ["workflow:event", { workflowId: "a", eventType: "approval" }],
      ["workflow:approved", { workflowId: "a", reason: "fine" }],
      ["workflow:start", { workflowId: "b", workflowName: "Review" }],
      ["workflow:event", { workflowId: "b", eventType: "poke" }],
      ["workflow:event", { workflowId: "b", eventType: "approval" }],
      ["workflow:rejected", { workflowId: "b", reason: "no" }],
      ["workflow:start", { workflowId: "c", workflowName: "Review" }],
      ["workflow:paused", { workflowId: "c", workflowName: "Review" }],
      ["workflow:resumed", { workflowId: "c", workflowName: "Review" }],
      ["workflow:restarted", { workflowId: "c", workflowName: "Review" }],
      ["workflow:terminated", { workflowId: "c", workflowName: "Review" }],
    ]);
    expect(new Set(seen.events.filter((event) => event.name === "d1").map((event) => event.channel))).toEqual(new Set(["workflow"]));
  });
});
