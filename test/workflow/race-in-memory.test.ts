/**
 * Branches of one run that wait while another runs a step go on in that execution when their time
 * comes or their event arrives, as `Promise.race` between a step and a timeout or a cancel needs
 * (Cloudflare's rules of workflows allow steps in Promise.race and Promise.any).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

/** The long step's work: started when `started` is set, finished when the test calls `finish`. */
let started = false;
let finish: () => void = () => {};
let work: Promise<void> = Promise.resolve();
const notes: string[] = [];

function longWork(): Promise<string> {
  started = true;
  return work.then(() => "finished");
}

class CancelRace extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return Promise.race([step.do("long job", longWork), step.waitForEvent("cancel", { type: "cancel", timeout: "1 day" }).then(() => "cancelled")]);
  }
}

class DeadlineRace extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return Promise.race([step.do("long job", longWork), step.sleep("deadline", "1 second").then(() => "timed out")]);
  }
}

class RetryBeside extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return Promise.all([
      step.do("long job", longWork),
      step.do("flaky", { retries: { limit: 2, delay: "1 second", backoff: "constant" } }, ({ attempt }) => {
        notes.push(`flaky attempt ${attempt} while the long job ${started ? "runs" : "waits"}`);
        if (attempt === 1) throw new Error("try again");
        return "ok";
      }),
    ]);
  }
}

/** A charge that takes a while: the restart must not start a second one while it runs. */
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
  started = false;
  work = new Promise<void>((resolve) => (finish = resolve));
  // The system clock: a virtual clock's advance first waits for the host to be idle, and the long job
  // runs until the test ends it.
  t = await createTestEnv({ agents: {}, workflows: { CancelRace, DeadlineRace, RetryBeside, Charge }, time: "system" });
  return t;
}

describe("a branch waiting beside a running step", () => {
  it("takes an event sent while the other step runs: a cancel wins the race", async () => {
    const t = await env();
    const instance = await (t.env.CancelRace as WorkflowBinding).create({ id: "c" });
    await expect.poll(() => started).toBe(true);
    await instance.sendEvent({ type: "cancel", payload: {} });
    await expect.poll(async () => await instance.status()).toEqual({ status: "complete", output: "cancelled" });
  });

  it("wakes from a sleep that ends while the other step runs: a deadline wins the race", async () => {
    const t = await env();
    const instance = await (t.env.DeadlineRace as WorkflowBinding).create({ id: "d" });
    await expect.poll(() => started).toBe(true);
    await expect.poll(async () => await instance.status(), { timeout: 10_000 }).toEqual({ status: "complete", output: "timed out" });
  });

  it("retries a failed step after its backoff while the other step still runs", async () => {
    const t = await env();
    const instance = await (t.env.RetryBeside as WorkflowBinding).create({ id: "r" });
    await expect.poll(() => notes.length).toBe(1);
    await expect.poll(() => notes.length, { timeout: 10_000 }).toBe(2);
    finish();
    await expect.poll(async () => await instance.status()).toEqual({ status: "complete", output: ["finished", "ok"] });
    expect(notes).toEqual(["flaky attempt 1 while the long job runs", "flaky attempt 2 while the long job runs"]);
  });
});

describe("restart during a running step", () => {
  it("starts the new execution once the old one's step returned: never the same step twice at once", async () => {
    const t = await env();
    const instance = await (t.env.Charge as WorkflowBinding).create({ id: "pay" });
    await expect.poll(() => notes).toEqual(["charge start"]);
    await instance.restart();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(notes).toEqual(["charge start"]);
    finish();
    await expect.poll(async () => await instance.status(), { timeout: 10_000 }).toEqual({ status: "complete", output: "charged" });
    expect(notes).toEqual(["charge start", "charged", "charge start", "charged"]);
  });
});
