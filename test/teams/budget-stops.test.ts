/**
 * What a call spent counts even when the run stops it: a pause, a cancel or wall time ends the call
 * without failing the step, but the usage it reported before is journaled, so the budget (rebuilt
 * when the run resumes) and the run's usage totals count it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TeamJournal } from "../../src/teams/journal.ts";
import { usageTotals } from "../../src/teams/run-signal.ts";
import { runtimeOf } from "../../src/teams/runtime-of.ts";
import { fnMember, step, team, teamRun } from "../../src/teams/index.ts";

const log: string[] = [];
/**
 * Reports 600 tokens at once; its first call of a test then works until the run stops it (so the
 * stop always finds it under way, however loaded the machine), a later one ends at once.
 */
const slowSpender = fnMember("slow", async (_input: unknown, context) => {
  context.usage({ inputTokens: 600 });
  log.push("reported");
  if (log.length > 1) return "ok";
  await new Promise<void>((_resolve, reject) => {
    context.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
  return "ok";
});

const paused = team("bs-paused", slowSpender, { limits: { tokens: 1000, reserveTokens: 100 } });
const cancelled = team("bs-cancelled", slowSpender);
const timedOut = team("bs-timed-out", step(slowSpender, { timeoutMs: 50, fallback: fnMember("spare", () => "spare") }));
const teams = { paused, cancelled, timedOut };

class Owner extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
  }
  status(id: string) {
    return teamRun(this, id).record();
  }
  tokens(id: string): number {
    const steps = new TeamJournal(runtimeOf(this).db).steps(id);
    return usageTotals(teamRun(this, id).record().team, [...steps.values()].map((step) => step.usage)).tokens;
  }
  pause(id: string): void {
    teamRun(this, id).pause();
  }
  resume(id: string): void {
    teamRun(this, id).resume();
  }
  async cancel(id: string): Promise<void> {
    await teamRun(this, id).cancel("stop");
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  log.length = 0;
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

describe("usage of a call the run stopped", () => {
  it("a pause keeps what the call reported: the resumed run counts it against its limit", async () => {
    const o = await owner();
    const id = await o.start("paused");
    await until(() => log.length === 1);
    await o.pause(id);
    await until(async () => (await o.status(id)).status === "paused");
    expect(await o.tokens(id)).toBe(600);
    await o.resume(id);
    // The call runs again and reports 600 more: 1,200 of 1,000 tokens spent, so the run fails.
    await until(async () => (await o.status(id)).status === "failed");
    expect((await o.status(id)).error).toMatchObject({ name: "BudgetExceededError" });
    expect(await o.tokens(id)).toBe(1200);
  });

  it("a cancel keeps what the call reported in the run's usage", async () => {
    const o = await owner();
    const id = await o.start("cancelled");
    await until(() => log.length === 1);
    await o.cancel(id);
    expect((await o.status(id)).status).toBe("cancelled");
    expect(await o.tokens(id)).toBe(600);
  });

  it("a step timeout keeps what the call reported", async () => {
    const o = await owner();
    const id = await o.start("timedOut");
    await until(async () => (await o.status(id)).status === "completed");
    expect(await o.tokens(id)).toBe(600);
  });
});
