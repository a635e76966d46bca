import { afterEach, expect, it } from "vitest";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const calls: string[] = [];

class Greeter extends WorkflowEntrypoint<unknown, { who: string }> {
  async run(event: WorkflowEvent<{ who: string }>, step: WorkflowStep) {
    const hello = await step.do("hello", () => {
      calls.push("hello");
      return `hello ${event.payload.who}`;
    });
    await step.sleep("nap", "30 days");
    const bye = await step.do("bye", () => {
      calls.push("bye");
      return "bye";
    });
    return `${hello}, ${bye}`;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  calls.length = 0;
  await t?.close();
});

it("runs, sleeps 30 days on virtual time, replays without re-running steps", async () => {
  t = await createTestEnv({ agents: {}, workflows: { Greeter } });
  const binding = t.env.Greeter as WorkflowBinding<{ who: string }>;
  const instance = await binding.create({ id: "g1", params: { who: "ada" } });
  await t.clock.settle();
  expect(await instance.status()).toEqual({ status: "waiting" });
  expect(calls).toEqual(["hello"]);
  await t.restart();
  await t.clock.advance("30 days");
  const again = await (t.env.Greeter as WorkflowBinding).get("g1");
  expect(await again.status()).toEqual({ status: "complete", output: "hello ada, bye" });
  expect(calls).toEqual(["hello", "bye"]);
});
