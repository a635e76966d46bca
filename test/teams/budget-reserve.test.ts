/**
 * What a call reserves before it runs, and what happens when one spent more than it reserved: a model
 * member reserves the cost of its tokens at its model's price (provider-prefixed ids too), so parallel
 * model calls cannot together cost more than the limit; under `onExhausted: "ask"` an overspend found
 * after a call asks a person for more and keeps the call's output.
 */
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TeamJournal } from "../../src/teams/journal.ts";
import { usageTotals } from "../../src/teams/run-signal.ts";
import { runtimeOf } from "../../src/teams/runtime-of.ts";
import { fnMember, modelMember, parallel, pipeline, team, teamRun } from "../../src/teams/index.ts";

let generated = 0;
/** Each call: 1,000 input and 1,000 output tokens of gpt-5, $0.01125. */
const model = new MockLanguageModelV3({
  modelId: "openai/gpt-5",
  doGenerate: async () => {
    generated++;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      content: [{ type: "text", text: "hi" }],
      finishReason: { unified: "stop", raw: "stop" },
      usage: { inputTokens: { total: 1000, noCache: 1000, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1000, text: 1000, reasoning: 0 } },
      warnings: [],
    };
  },
});
const writer = (name: string) => modelMember(name, { model });

const log: string[] = [];
const teams = {
  // Each call reserves 2,000 tokens at gpt-5's output price ($0.02): two do not fit in $0.03 at once.
  parallelModels: team("br-parallel-models", parallel({ a: writer("a"), b: writer("b"), c: writer("c"), d: writer("d"), e: writer("e") }), {
    limits: { costUsd: 0.03, reserveTokens: 2000 },
  }),
  overspendAsk: team(
    "br-overspend-ask",
    pipeline(
      fnMember("big", (_input: unknown, context) => (log.push("big"), context.usage({ inputTokens: 6000 }), "big-output")),
      fnMember("after", (input: unknown) => (log.push("after"), `after(${String(input)})`)),
    ),
    { limits: { tokens: 5000 }, onExhausted: "ask" },
  ),
};

class Owner extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
  }
  record(id: string) {
    return teamRun(this, id).record();
  }
  costUsd(id: string): number {
    const steps = new TeamJournal(runtimeOf(this).db).steps(id);
    return usageTotals(teamRun(this, id).record().team, [...steps.values()].map((step) => step.usage)).costUsd;
  }
  approvals(id: string) {
    return teamRun(this, id).approvals();
  }
  async approve(id: string, path: string): Promise<void> {
    await teamRun(this, id).approve(path);
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  log.length = 0;
  generated = 0;
});

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner }, time: "system" });
  return t.get<Owner>("Owner", "o1") as unknown as Owner;
}

describe("budget reservations", () => {
  it("parallel model members reserve their model's price: together they stay within costUsd", async () => {
    const o = await owner();
    const id = await o.start("parallelModels");
    await until(async () => ["completed", "failed"].includes((await o.record(id)).status));
    const record = await o.record(id);
    expect(record.status).toBe("failed");
    expect(record.error).toMatchObject({ name: "BudgetExceededError" });
    expect(record.error!.message).toContain("costUsd");
    expect(generated).toBeLessThan(5);
    expect(await o.costUsd(id)).toBeLessThanOrEqual(0.03);
  });

  it("ask: a call that spent past the limit asks for more and keeps its output; granted, the run goes on", async () => {
    const o = await owner();
    const id = await o.start("overspendAsk");
    await until(async () => (await o.record(id)).status === "waiting");
    const [ask] = await o.approvals(id);
    expect(ask).toMatchObject({ kind: "budget" });
    expect(ask!.prompt).toContain("tokens spent 6000");
    await o.approve(id, ask!.path);
    expect(await o.result(id)).toBe("after(big-output)");
    expect(log).toEqual(["big", "after"]);
  });
});
