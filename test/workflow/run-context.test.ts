// A workflow instance's execution belongs to no agent: started or woken from inside one agent's event
// (another agent's RPC sending it an event), its code, its log lines and its report failures must not
// carry that agent's name.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, getCurrentAgent } from "../../src/index.ts";
import { currentLogContext } from "../../src/observability/logs/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep, type WorkflowBinding } from "../../src/workflow/index.ts";

const START = Date.UTC(2033, 6, 1);

/** Where code ran, as the log context and getCurrentAgent() see it. */
function where(): string {
  const scope = currentLogContext();
  const agent = getCurrentAgent<Agent>().agent;
  return `log:${scope?.agent ?? "-"}/${scope?.name ?? "-"} current:${agent ? agent.name : "-"}`;
}

class Room extends Agent {
  start() {
    return this.runWorkflow("Chore", {});
  }
  /** Wakes an instance another room started, from inside this room's event. */
  async poke(id: string) {
    await (await (this.env as Record<string, WorkflowBinding>).Chore!.get(id)).sendEvent({ type: "go", payload: null });
  }
  #failed = false;
  /** Fails once, so the report step logs a failed attempt and then goes through. */
  override onWorkflowComplete() {
    if (this.#failed) return;
    this.#failed = true;
    throw new Error("the hook broke");
  }
}

class Chore extends AgentWorkflow<Room> {
  async run(_event: AgentWorkflowEvent<unknown>, step: AgentWorkflowStep) {
    await step.waitForEvent("go", { type: "go", timeout: "1 day" });
    const seen = await step.do("where", () => where()); // recorded as the run first saw it
    await step.reportComplete(seen);
    return seen;
  }
}

let t: TestEnv | undefined;
const errors: string[] = [];
let realError: typeof console.error;
beforeEach(() => {
  realError = console.error;
  errors.length = 0;
  console.error = (...args: unknown[]) => void errors.push(`${where()} ${args.map(String).join(" ")}`);
});
afterEach(async () => {
  console.error = realError;
  await t?.close();
  t = undefined;
});

describe("a workflow run's context", () => {
  it("is no agent's, even when another instance's event wakes it", async () => {
    t = await createTestEnv({ agents: { Room }, workflows: { Chore }, start: START });
    const demo = t.get<Room>("Room", "demo");
    const demo2 = t.get<Room>("Room", "demo2");
    const id = await demo.start();
    await t.clock.settle();
    await demo2.poke(id);
    await t.clock.advance("1 hour"); // past the report step's retry
    const instance = await (t.env.Chore as WorkflowBinding).get(id);
    expect((await instance.status()).output).toBe("log:-/- current:-");
    // The failing report step's line names the instance's agent, and is written as no agent's.
    const line = errors.find((entry) => entry.includes("__agent_reportComplete"));
    expect(line).toBe(`log:-/- current:- [hearth] Chore/${id}: __agent_reportComplete to Room/demo failed (attempt 1): Error: the hook broke`);
  });
});
