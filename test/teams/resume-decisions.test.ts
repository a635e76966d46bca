/**
 * A team run resumed after waiting (an approval) goes on from what it journaled: a route decided by
 * code keeps its route whatever the code says now. And what a team keeps of its finished runs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { approval, fallback, fnMember, parallel, pipeline, route, team, teamRun } from "../../src/teams/index.ts";

let pick = "a";
const calls: string[] = [];
const routed = team(
  "resume-route",
  route({
    routes: {
      a: pipeline(approval("ship plan A?"), fnMember("A", (input: string) => (calls.push("A"), `A(${input})`))),
      b: fnMember("B", (input: string) => (calls.push("B"), `B(${input})`)),
    },
    by: () => pick,
  }),
);

const failing = team(
  "always-fails",
  fnMember("broken", () => {
    throw new Error("no");
  }),
  { keepFinishedRuns: 2 },
);

/** A parallel whose branch a waits for an approval while branch b fails: the fallback's manual path runs instead. */
const abandoned = team(
  "abandoned-branch",
  fallback([
    parallel({
      a: pipeline(approval("send the email?"), fnMember("send", () => (calls.push("EMAIL SENT"), "sent"))),
      b: fnMember("flaky", async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error("flaky down");
      }),
    }),
    pipeline(approval("manual path?"), fnMember("manual", () => (calls.push("manual"), "manual"))),
  ]),
);

class Desk extends Agent {
  async startAbandoned(): Promise<string> {
    return (await abandoned.start(this, "q")).id;
  }
  approvals(id: string) {
    return teamRun(this, id).approvals();
  }
  async failMany(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const run = await failing.start(this, i);
      await run.result().catch(() => {});
    }
  }
  kept(): number {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM _hearth_team_runs WHERE team = 'always-fails'`[0]!.n;
  }

  async start(input: string): Promise<string> {
    return (await routed.start(this, input)).id;
  }
  status(id: string) {
    return teamRun(this, id).record();
  }
  async approve(id: string, path: string): Promise<void> {
    await teamRun(this, id).approve(path);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  calls.length = 0;
  pick = "a";
});

describe("a resumed team run", () => {
  it("takes the route its code chose before the wait, not what the code says at the resume", async () => {
    t = await createTestEnv({ agents: { Desk }, time: "system" });
    const desk = t.get<Desk>("Desk", "d1");
    const id = await desk.start("q");
    await expect.poll(async () => (await desk.status(id)).status).toBe("waiting");
    pick = "b";
    await desk.approve(id, "a/0.approval");
    await expect.poll(async () => (await desk.status(id)).status).toBe("completed");
    expect((await desk.status(id)).output).toBe("A(q)");
    expect(calls).toEqual(["A"]);
  });

  it("prunes failed runs over keepFinishedRuns too (every 32nd end, the first of a process included)", async () => {
    t = await createTestEnv({ agents: { Desk }, time: "system" });
    const desk = t.get<Desk>("Desk", "d2");
    await desk.failMany(40);
    // Pruned at the 1st and the 33rd end: 2 kept then, and the 7 ended since.
    expect(await desk.kept()).toBe(9);
  });

  it("withdraws the approvals of a branch it moved past: only the fallback's is offered, the other refused", async () => {
    t = await createTestEnv({ agents: { Desk }, time: "system" });
    const desk = t.get<Desk>("Desk", "d3");
    const id = await desk.startAbandoned();
    await expect.poll(async () => (await desk.approvals(id)).map((pending) => pending.prompt)).toEqual(["manual path?"]);
    await expect(desk.approve(id, "0.parallel/a/0.approval")).rejects.toThrow(/waits for no approval/);
    await desk.approve(id, "1.pipeline/0.approval");
    await expect.poll(async () => (await desk.status(id)).status).toBe("completed");
    expect(calls).toEqual(["manual"]);
  });
});
