// this.ctx of a WorkflowEntrypoint is an ExecutionContext, as on Cloudflare: waitUntil, props,
// passThroughOnException.
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const done: string[] = [];

/** Resolves after a few turns of the event loop: work that outlives the step that started it. */
async function later(entry: string): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  done.push(entry);
}

class Background extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    this.ctx.passThroughOnException();
    await step.do("start", () => {
      this.ctx.waitUntil(later("audit log written"));
      return "started";
    });
    return { props: this.ctx.props };
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("this.ctx of a workflow", () => {
  it("has waitUntil, whose work the engine waits for, props and passThroughOnException", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Background }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Background as WorkflowBinding).create({ id: "b" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: { props: {} } });
    expect(done).toEqual(["audit log written"]);
  });
});

class Describe extends WorkflowEntrypoint {
  async run(event: WorkflowEvent<unknown>) {
    return { payload: event.payload, workflowName: event.workflowName, instanceId: event.instanceId };
  }
}

describe("the event of run", () => {
  it("names the workflow, and has {} for payload when the instance got no params", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Describe }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Describe as WorkflowBinding).create({ id: "d" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: { payload: {}, workflowName: "Describe", instanceId: "d" } });
  });
});
