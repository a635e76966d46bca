/**
 * A run's wall time is saved as it runs, not only when an execution ends: a run whose host goes down
 * mid-step counts the time it already spent when it goes on at the next boot, and fails with its
 * wallMs error once past it instead of being given the whole limit again at every boot. Virtual time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fnMember, pipeline, team, teamRun } from "../../src/teams/index.ts";

const log: string[] = [];

/** Never finishes by itself (a step the host goes down in); gives up when the run stops it. */
const stuck = fnMember("stuck", (_input: unknown, context) => {
  log.push("start stuck");
  return new Promise<string>((_resolve, reject) => context.signal.addEventListener("abort", () => reject(new Error("stopped")), { once: true }));
});

const slow = team("w-slow", pipeline(fnMember("first", () => (log.push("first"), "first")), stuck), { limits: { wallMs: 60_000 } });

class Owner extends Agent {
  async start(): Promise<string> {
    return (await slow.start(this, "go", { runId: "w1" })).id;
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

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("team run wall time across restarts", () => {
  it("a run whose host went down mid-step counts the time spent before, and fails once past its wallMs", async () => {
    t = await createTestEnv({ agents: { Owner } });
    const o = () => t!.get<Owner>("Owner", "o1") as unknown as Owner;
    const id = await o().start();
    await until(async () => log.includes("start stuck"));
    await t.clock.advance("54 seconds");
    // Saved while the step was still under way (every tenth of wallMs).
    expect((await o().record(id)).elapsedMs).toBe(54_000);

    await t.restart();
    await until(async () => log.filter((line) => line === "start stuck").length === 2);
    const resumed = await o().record(id);
    expect(resumed.status).toBe("running");
    expect(resumed.elapsedMs).toBe(54_000);
    expect(log).toEqual(["first", "start stuck", "start stuck"]);

    // 54 s were spent before the restart: 6 s more reach the 60 s limit.
    await t.clock.advance("7 seconds");
    await until(async () => (await o().record(id)).status !== "running");
    const ended = await o().record(id);
    expect(ended.status).toBe("failed");
    expect(ended.error).toEqual({ name: "BudgetExceededError", message: "Team run budget exhausted: wallMs (limit 60000 ms of running time)" });
    expect(ended.elapsedMs).toBeGreaterThanOrEqual(60_000);
  });
});
