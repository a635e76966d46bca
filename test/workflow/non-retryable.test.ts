// Errors Cloudflare's engine takes for NonRetryableError without the class: by name, or by a message
// that starts with it (an error that crossed an RPC boundary). They fail the step without retries.
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const attempts = new Map<string, number>();

class Fails extends WorkflowEntrypoint<unknown, { by: "name" | "message" }> {
  async run(event: WorkflowEvent<{ by: "name" | "message" }>, step: WorkflowStep) {
    return step.do("call", { retries: { limit: 3, delay: "1 second" } }, () => {
      attempts.set(event.instanceId, (attempts.get(event.instanceId) ?? 0) + 1);
      const error = new Error(event.payload.by === "name" ? "card declined" : "NonRetryableError: card declined");
      if (event.payload.by === "name") error.name = "NonRetryableError";
      throw error;
    });
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("a NonRetryableError recognised without its class", () => {
  it.each(["name", "message"] as const)("by its %s fails the step at once", async (by) => {
    t = await createTestEnv({ agents: {}, workflows: { Fails }, start: Date.UTC(2031, 0, 1) });
    const instance = await (t.env.Fails as WorkflowBinding<{ by: "name" | "message" }>).create({ id: by, params: { by } });
    await t.clock.settle();
    await t.clock.advance("1 minute"); // long past every retry's backoff
    expect((await instance.status()).status).toBe("errored");
    expect(attempts.get(by)).toBe(1);
  });
});
