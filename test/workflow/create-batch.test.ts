// createBatch: at most 100 instances a call, and Cloudflare's object form with per-instance errors.
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent } from "../../src/workflow/types.ts";

class Echo extends WorkflowEntrypoint<unknown, { n: number }> {
  async run(event: WorkflowEvent<{ n: number }>) {
    return event.payload.n;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function echo(): Promise<WorkflowBinding<{ n: number }, number>> {
  t = await createTestEnv({ agents: {}, workflows: { Echo }, start: Date.UTC(2031, 0, 1) });
  return t.env.Echo as WorkflowBinding<{ n: number }, number>;
}

describe("createBatch", () => {
  it("takes at most 100 instances a call, in either form", async () => {
    const binding = await echo();
    const many = Array.from({ length: 101 }, (_, i) => ({ id: `m${i}`, params: { n: i } }));
    const limit = "Echo.createBatch() got 101 instances; the limit is 100 per call (MAX_BATCH_INSTANCES)";
    await expect(binding.createBatch(many)).rejects.toThrow(limit);
    await expect(binding.createBatch({ instances: many })).rejects.toThrow(limit);
    await expect(binding.createBatch({ count: 101 })).rejects.toThrow(limit);
    await expect(binding.get("m0")).rejects.toThrow(/no instance "m0"/);
    expect(await binding.createBatch(many.slice(0, 100))).toHaveLength(100);
  });

  it("creates { count } instances with the same params", async () => {
    const binding = await echo();
    const { created, errors } = await binding.createBatch({ count: 3, params: { n: 7 } });
    expect(errors).toEqual([]);
    expect(new Set(created.map((instance) => instance.id)).size).toBe(3);
    await t!.clock.settle();
    for (const instance of created) expect(await instance.status()).toEqual({ status: "complete", output: 7 });
  });

  it("creates the { instances } it can and reports the others by index", async () => {
    const binding = await echo();
    await binding.create({ id: "taken", params: { n: 0 } });
    const { created, errors } = await binding.createBatch({
      instances: [{ id: "one", params: { n: 1 } }, { id: "taken", params: { n: 2 } }, { id: "-bad" }, { id: "three", params: { n: 3 } }],
    });
    expect(created.map((instance) => instance.id)).toEqual(["one", "three"]);
    expect(errors).toEqual([
      { index: 1, id: "taken", code: 409, message: "Echo instance taken already exists" },
      { index: 2, id: "-bad", code: 400, message: expect.stringMatching(/Invalid workflow instance id "-bad"/) as unknown as string },
    ]);
    await t!.clock.settle();
    expect(await (await binding.get("taken")).status()).toEqual({ status: "complete", output: 0 });
    expect(await (await binding.get("three")).status()).toEqual({ status: "complete", output: 3 });
  });
});
