/**
 * A step whose function is running when the instance is restarted (or terminated, then restarted)
 * never runs twice at once: no execution of the instance starts before that function returned.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

/** The charge's work: it ends when the test calls `finish`. */
let finish: () => void = () => {};
let work: Promise<void> = Promise.resolve();
const notes: string[] = [];

class Charge extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return step.do("charge card", async () => {
      notes.push("charge start");
      await work;
      notes.push("charged");
      return "charged";
    });
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  finish();
  await t?.close();
  t = undefined;
  notes.length = 0;
});

async function env(): Promise<TestEnv> {
  work = new Promise<void>((resolve) => (finish = resolve));
  t = await createTestEnv({ agents: {}, workflows: { Charge }, time: "system" });
  return t;
}

describe("a step running when the instance is restarted", () => {
  for (const [what, stop] of [
    ["a restart", async (instance: Awaited<ReturnType<WorkflowBinding["get"]>>) => instance.restart()],
    ["two restarts in a row", async (instance: Awaited<ReturnType<WorkflowBinding["get"]>>) => (await instance.restart(), await instance.restart())],
    ["a terminate, then a restart", async (instance: Awaited<ReturnType<WorkflowBinding["get"]>>) => (await instance.terminate(), await instance.restart())],
  ] as const) {
    it(`finishes before the new execution starts it again: ${what}`, async () => {
      const t = await env();
      const instance = await (t.env.Charge as WorkflowBinding).create({ id: "pay" });
      await expect.poll(() => notes).toEqual(["charge start"]);
      await stop(instance);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(notes).toEqual(["charge start"]);
      finish();
      await expect.poll(async () => await instance.status(), { timeout: 10_000 }).toEqual({ status: "complete", output: "charged" });
      expect(notes).toEqual(["charge start", "charged", "charge start", "charged"]);
    });
  }
});
