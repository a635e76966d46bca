/**
 * Approvals anywhere in the tree surface at the root: a member that is a whole team run by a
 * sub-agent asks for an approval; the parent's run lists it, survives a restart, and approving it at
 * the root lets the child's run finish and the parent's go on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { approval, fnMember, pipeline, team, teamMember, teamRun } from "../../src/teams/index.ts";

const calls: string[] = [];
const research = team("n-research", pipeline(fnMember("gather", (q: string) => (calls.push("gather"), `sources on ${q}`)), approval("Use these sources?"), fnMember("summarise", (s: string) => (calls.push("summarise"), `summary of ${s}`))));

class Researcher extends Agent {
  statuses(): string[] {
    return research.list(this).map((run) => run.status);
  }
}

const desk = team("n-desk", pipeline(teamMember(Researcher, research, { name: "research" }), fnMember("publish", (s: string) => (calls.push("publish"), `published: ${s}`))));

class Desk extends Agent {
  async start(q: string): Promise<string> {
    return (await desk.start(this, q)).id;
  }
  status(id: string): string {
    return teamRun(this, id).record().status;
  }
  approvals(id: string) {
    return teamRun(this, id).approvals();
  }
  async approve(id: string, path: string): Promise<void> {
    await teamRun(this, id).approve(path);
  }
  async cancel(id: string): Promise<void> {
    await teamRun(this, id).cancel("stop everything");
  }
  async researcherStatuses(): Promise<string[]> {
    return (await this.subAgent(Researcher, "research")).statuses();
  }
  async reject(id: string, path: string): Promise<void> {
    await teamRun(this, id).reject(path, "not those");
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  calls.length = 0;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("approvals of a member's own team run", () => {
  it("surface at the root, survive a restart, and let both runs finish once approved there", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-nested-"));
    dirs.push(dataDir);
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system", dataDir });
    let d = t.get<Desk>("Desk", "d") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.status(id)) === "waiting" && (await d.approvals(id)).length === 1);
    const [pending] = await d.approvals(id);
    expect(pending!.prompt).toBe("Use these sources?");
    expect(pending!.path).toContain("::");
    expect(calls).toEqual(["gather"]);

    await t.close();
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system", dataDir });
    d = t.get<Desk>("Desk", "d") as unknown as Desk;
    expect(await d.approvals(id)).toEqual([pending]);
    await d.approve(id, pending!.path);
    expect(await d.result(id)).toBe("published: summary of sources on llamas");
    expect(calls).toEqual(["gather", "summarise", "publish"]);
    expect(await d.approvals(id)).toEqual([]);
  });

  it("a rejection at the root fails the member's run and the parent's", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d2") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.approvals(id)).length === 1);
    await d.reject(id, (await d.approvals(id))[0]!.path);
    await expect(d.result(id)).rejects.toThrow("not those");
    expect(calls).toEqual(["gather"]);
  });

  it("cancelling the parent's run cancels the member's run in its own agent", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d3") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.approvals(id)).length === 1);
    expect(await d.researcherStatuses()).toEqual(["waiting"]);
    await d.cancel(id);
    expect(await d.status(id)).toBe("cancelled");
    expect(await d.researcherStatuses()).toEqual(["cancelled"]);
  });
});
