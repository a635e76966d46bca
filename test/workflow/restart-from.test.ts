// restart({ from }) keeps the results of the steps before the named one; rollback options are refused,
// not ignored.
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const runs: string[] = [];

class Chain extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const a = await step.do("a", () => (runs.push("a"), "a"));
    await step.sleep("b", 0);
    const b1 = await step.do("b", () => (runs.push("b1"), "b1"));
    const b2 = await step.do("b", () => (runs.push("b2"), "b2"));
    return [a, b1, b2].join(" ");
  }
}

class Compensated extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return step.do("charge", () => "charged", { rollback: async () => {} });
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  runs.length = 0;
});

async function completed(): Promise<{ t: TestEnv; chain: WorkflowBinding }> {
  t = await createTestEnv({ agents: {}, workflows: { Chain, Compensated }, start: Date.UTC(2031, 0, 1) });
  const chain = t.env.Chain as WorkflowBinding;
  const instance = await chain.create({ id: "c" });
  await t.clock.settle();
  expect(await instance.status()).toEqual({ status: "complete", output: "a b1 b2" });
  runs.length = 0;
  return { t, chain };
}

describe("restart({ from })", () => {
  it("runs the named step and the later ones again, the earlier ones from their records", async () => {
    const { t, chain } = await completed();
    const instance = await chain.get("c");
    await instance.restart({ from: { name: "b", count: 2, type: "do" } });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: "a b1 b2" });
    expect(runs).toEqual(["b2"]);
    await instance.restart({ from: { name: "b", type: "do" } });
    await t.clock.settle();
    expect(runs).toEqual(["b2", "b1", "b2"]);
    await instance.restart();
    await t.clock.settle();
    expect(runs).toEqual(["b2", "b1", "b2", "a", "b1", "b2"]);
  });

  it("refuses a step missing from the history, or a name several kinds share without a type", async () => {
    const { t, chain } = await completed();
    const instance = await chain.get("c");
    await expect(instance.restart({ from: { name: "z" } })).rejects.toThrow(/step "z": it is not in the instance's execution history/);
    await expect(instance.restart({ from: { name: "b", count: 3, type: "do" } })).rejects.toThrow(/not in the instance's execution history/);
    await expect(instance.restart({ from: { name: "b" } })).rejects.toThrow(/several types have that name \(sleep, do\); set from\.type/);
    expect(await instance.status()).toEqual({ status: "complete", output: "a b1 b2" });
    await t.clock.settle();
    expect(runs).toEqual([]);
  });
});

describe("rollback options", () => {
  it("fail the step clearly instead of being ignored", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Chain, Compensated }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Compensated as WorkflowBinding).create({ id: "r" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({
      status: "errored",
      error: { name: "TypeError", message: 'step.do("charge"): rollback handlers are not supported by Hearth yet' },
    });
  });

  it("make terminate({ rollback: true }) throw", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Chain, Compensated }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Chain as WorkflowBinding).create({ id: "t" });
    await expect(instance.terminate({ rollback: true })).rejects.toThrow("terminate({ rollback: true }): rollback handlers are not supported by Hearth yet");
  });
});
