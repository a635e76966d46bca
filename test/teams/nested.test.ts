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
import { approval, fnMember, NESTED_SEPARATOR, parallel, pipeline, team, teamMember, teamRun, type PendingApproval } from "../../src/teams/index.ts";

const calls: string[] = [];
const research = team("n-research", pipeline(fnMember("gather", (q: string) => (calls.push("gather"), `sources on ${q}`)), approval("Use these sources?"), fnMember("summarise", (s: string) => (calls.push("summarise"), `summary of ${s}`))));
/** A member's run that waits for two approvals at once. */
const review = team("n-review", parallel({ legal: approval("Legal OK?"), brand: approval("Brand OK?") }));
const memberTeams = [research, review];

class Researcher extends Agent {
  statuses(): string[] {
    return research.list(this).map((run) => run.status);
  }
  /** The approvals this agent's own runs wait for, as it sees them (paths in its own runs). */
  ownApprovals(): PendingApproval[] {
    return memberTeams.flatMap((t) => t.list(this).flatMap((run) => teamRun(this, run.id).approvals()));
  }
  /** Decides one of its own runs' approvals here, in this agent, not through the parent's run. */
  async decideHere(path: string, how: "approve" | "reject"): Promise<void> {
    const run = memberTeams.flatMap((t) => t.list(this)).find((r) => teamRun(this, r.id).approvals().some((a) => a.path === path));
    if (!run) throw new Error(`no run of this agent waits at ${path}`);
    if (how === "approve") await teamRun(this, run.id).approve(path);
    else await teamRun(this, run.id).reject(path, "refused in the member");
  }
  /** Cancels its own runs here, in this agent. */
  async cancelHere(): Promise<void> {
    for (const run of research.list(this)) await teamRun(this, run.id).cancel("called off in the member");
  }
}

const desk = team("n-desk", pipeline(teamMember(Researcher, research, { name: "research" }), fnMember("publish", (s: string) => (calls.push("publish"), `published: ${s}`))));
const reviewDesk = team("n-review-desk", pipeline(teamMember(Researcher, review, { name: "review" }), fnMember("ship", () => (calls.push("ship"), "shipped"))));

class Desk extends Agent {
  async start(q: string, which: "desk" | "review" = "desk"): Promise<string> {
    return (await (which === "desk" ? desk : reviewDesk).start(this, q)).id;
  }
  async memberApprovals(instance: string): Promise<PendingApproval[]> {
    return (await this.subAgent(Researcher, instance)).ownApprovals();
  }
  async cancelInMember(instance: string): Promise<void> {
    await (await this.subAgent(Researcher, instance)).cancelHere();
  }
  async decideInMember(instance: string, path: string, how: "approve" | "reject" = "approve"): Promise<void> {
    await (await this.subAgent(Researcher, instance)).decideHere(path, how);
  }
  events(id: string) {
    return teamRun(this, id).events();
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

  it("an approval given in the member's own agent is resolved in the parent's run too", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d4") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.approvals(id)).length === 1);
    const [own] = await d.memberApprovals("research");
    await d.decideInMember("research", own!.path);
    expect(await d.result(id)).toBe("published: summary of sources on llamas");
    expect(await d.approvals(id)).toEqual([]);
    const resolved = (await d.events(id)).filter((event) => event.type === "approval-resolved");
    expect(resolved.map((event) => event.path)).toEqual([`0.research${NESTED_SEPARATOR}${own!.path}`]);
  });

  it("of two approvals, the one given in the member's agent leaves the parent's list; the other is still decided at the root", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d5") as unknown as Desk;
    const id = await d.start("launch", "review");
    await until(async () => (await d.approvals(id)).length === 2);
    const legal = (await d.memberApprovals("review")).find((a) => a.prompt === "Legal OK?")!;
    await d.decideInMember("review", legal.path);
    // The member's run waits again (for the other approval) and tells the parent's, which waits again.
    await until(async () => {
      const last = (await d.events(id)).at(-1)!;
      return last.type === "run-waiting" && (last.data as { approvals: unknown[] }).approvals.length === 1;
    });
    const left = await d.approvals(id);
    expect(left.map((a) => a.prompt)).toEqual(["Brand OK?"]);
    await d.approve(id, left[0]!.path);
    expect(await d.result(id)).toBe("shipped");
    expect(await d.approvals(id)).toEqual([]);
  });

  it("a rejection given in the member's agent fails both runs and leaves no approval waiting", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d6") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.approvals(id)).length === 1);
    const [own] = await d.memberApprovals("research");
    await d.decideInMember("research", own!.path, "reject");
    await expect(d.result(id)).rejects.toThrow("refused in the member");
    expect(await d.approvals(id)).toEqual([]);
    expect(calls).toEqual(["gather"]);
  });

  it("an approval the member's run ended without (cancelled in its agent) no longer waits in the parent's run", async () => {
    t = await createTestEnv({ agents: { Desk, Researcher }, time: "system" });
    const d = t.get<Desk>("Desk", "d7") as unknown as Desk;
    const id = await d.start("llamas");
    await until(async () => (await d.approvals(id)).length === 1);
    await d.cancelInMember("research");
    await expect(d.result(id)).rejects.toThrow("called off in the member");
    expect(await d.approvals(id)).toEqual([]);
    const resolved = (await d.events(id)).filter((event) => event.type === "approval-resolved");
    expect(resolved.map((event) => event.data)).toEqual([{ nested: true, withdrawn: true }]);
  });
});
