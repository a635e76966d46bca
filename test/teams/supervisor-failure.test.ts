/**
 * A supervisor's delegations of one turn behave as a fan-out's branches: when one fails the others
 * are aborted, and the turn (and with it the run, or the fallback's next option) goes on only once
 * every one of them settled.
 */
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fallback, fnMember, supervisor, team, teamRun } from "../../src/teams/index.ts";

const log: string[] = [];
const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };
/** Every turn delegates to both members at once. */
const model = new MockLanguageModelV3({
  doGenerate: async () => ({
    content: [
      { type: "tool-call", toolCallId: "c1", toolName: "lookup", input: JSON.stringify({ request: "x" }) },
      { type: "tool-call", toolCallId: "c2", toolName: "charge", input: JSON.stringify({ request: "y" }) },
    ],
    finishReason: { unified: "tool-calls", raw: "tool_calls" },
    usage,
    warnings: [],
  }),
});
const lookup = fnMember(
  "lookup",
  async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw new Error("lookup down");
  },
  { description: "lookup" },
);
const charge = fnMember(
  "charge",
  async (_input: unknown, ctx) => {
    log.push("charge started");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      ctx.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    log.push(ctx.signal.aborted ? "charge aborted" : "charge finished");
    return "charged";
  },
  { description: "charge" },
);
const lead = supervisor({ name: "lead", model, instructions: "go", members: [lookup, charge] });
const plain = team("supervisor-alone", lead);
const withBackup = team("supervisor-then-backup", fallback([lead, fnMember("backup", () => (log.push("backup ran"), "backup"))]));

class Desk extends Agent {
  async start(which: "plain" | "backup"): Promise<string> {
    return (await (which === "plain" ? plain : withBackup).start(this, "q")).id;
  }
  record(id: string) {
    return teamRun(this, id).record();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  log.length = 0;
});

describe("a supervisor's delegation that fails", () => {
  it("aborts the other delegations of its turn, and the run fails once they settled", async () => {
    t = await createTestEnv({ agents: { Desk }, time: "system" });
    const desk = t.get<Desk>("Desk", "d1");
    const id = await desk.start("plain");
    await expect.poll(async () => (await desk.record(id)).status, { timeout: 5_000 }).toBe("failed");
    expect(log).toEqual(["charge started", "charge aborted"]);
  });

  it("lets a fallback's next option run only after the other delegations settled", async () => {
    t = await createTestEnv({ agents: { Desk }, time: "system" });
    const desk = t.get<Desk>("Desk", "d2");
    const id = await desk.start("backup");
    await expect.poll(async () => (await desk.record(id)).status, { timeout: 5_000 }).toBe("completed");
    expect(log).toEqual(["charge started", "charge aborted", "backup ran"]);
  });
});
