// pause() while a step runs: the instance reports waitingForPause until the step is recorded, then
// paused (Cloudflare's statuses); pausing a paused instance is refused.
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const log: string[] = [];
let started!: () => void;
let release!: () => void;
const stepStarted = new Promise<void>((resolve) => (started = resolve));

class Long extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    await step.do("charge", async () => {
      started();
      await new Promise<void>((resolve) => (release = resolve));
      log.push("charged");
    });
    await step.do("ship", () => log.push("shipped"));
    return "ok";
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("pausing during a step", () => {
  it("reports waitingForPause until the step is recorded, then paused; a second pause is refused", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Long }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Long as WorkflowBinding).create({ id: "l" });
    await stepStarted;
    await instance.pause();
    expect(await instance.status()).toEqual({ status: "waitingForPause" });
    release();
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "paused" });
    expect(log).toEqual(["charged"]);
    await expect(instance.pause()).rejects.toThrow("Cannot pause Long instance l: it is already paused");
    await instance.resume();
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: "ok" });
    expect(log).toEqual(["charged", "shipped"]);
  });
});
