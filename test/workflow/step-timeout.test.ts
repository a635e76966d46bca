// A step's timeout: a WorkflowTimeoutError, and any length (past Node's 24.8-day timer limit too).
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import { WorkflowTimeoutError } from "../../src/workflow/errors.ts";
import { withStepTimeout } from "../../src/workflow/step-timeout.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

class Hangs extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    try {
      await step.do("hang", { retries: { limit: 0, delay: 0 }, timeout: 20 }, () => new Promise<never>(() => {}));
    } catch (error) {
      return { timedOut: error instanceof WorkflowTimeoutError, name: (error as Error).name, message: (error as Error).message };
    }
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("a step's timeout", () => {
  it("fails the attempt with a WorkflowTimeoutError", async () => {
    t = await createTestEnv({ agents: {}, workflows: { Hangs }, start: Date.UTC(2031, 0, 1), time: "system" });
    const instance = await (t.env.Hangs as WorkflowBinding).create({ id: "h" });
    let status = await instance.status();
    while (status.status !== "complete" && status.status !== "errored") {
      await new Promise<void>((resolve) => setImmediate(resolve));
      status = await instance.status();
    }
    expect(status).toEqual({
      status: "complete",
      output: { timedOut: true, name: "WorkflowTimeoutError", message: 'step.do("hang") timed out after 20 ms' },
    });
  });

  it("holds past Node's 24.8-day timer limit: a 30-day timeout is armed, not dropped", async () => {
    const thirtyDays = 30 * 24 * 3600_000;
    const armed: number[] = [];
    let fire: () => void = () => {};
    const timer = (ms: number, fn: () => void) => {
      armed.push(ms);
      fire = fn;
      return () => {};
    };
    const attempt = withStepTimeout(new Promise<never>(() => {}), thirtyDays, "slow", timer);
    expect(armed).toEqual([thirtyDays]);
    fire();
    await expect(attempt).rejects.toBeInstanceOf(WorkflowTimeoutError);
    await expect(attempt).rejects.toThrow(/^step\.do\("slow"\) timed out after /);
  });
});
