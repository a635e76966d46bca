/**
 * A member that is a whole team run (`teamMember`) waits for that run wherever it is: a parallel
 * branch, a map item or a supervisor's delegation suspends the parent's run until the member's run
 * ended (or asks for an approval, which surfaces at the root), as in a pipeline — also across a
 * restart of the host.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { approval, fnMember, map, parallel, pipeline, supervisor, team, teamMember, teamRun } from "../../src/teams/index.ts";

const slow = team("nf-slow", fnMember("work", async (x: unknown) => (await new Promise((resolve) => setTimeout(resolve, 50)), `worked(${typeof x === "string" ? x : JSON.stringify(x)})`)));
const gated = team("nf-gated", pipeline(approval("Go on?"), fnMember("finish", (x: unknown) => `finished(${String(x)})`)));

class Member extends Agent {}

const inParallel = team("nf-parallel", pipeline(parallel({ sub: teamMember(Member, slow, { name: "sub" }) }), fnMember("next", (x: unknown) => `next(${JSON.stringify(x)})`)));
const inMap = team("nf-map", map(teamMember(Member, slow, { name: "sub", instance: (x: unknown) => String(x) }), { items: () => [1, 2] }));
const gatedInParallel = team("nf-gated-parallel", pipeline(parallel({ sub: teamMember(Member, gated, { name: "sub" }) }), fnMember("next", (x: unknown) => `next(${JSON.stringify(x)})`)));

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };
let turns = 0;
/** Delegates to `sub` once, then answers with what it got back. */
const model = new MockLanguageModelV3({
  doGenerate: async (options) => {
    turns++;
    const last = options.prompt.at(-1)!;
    if (last.role === "tool") {
      const part = last.content[0] as { output: { value: unknown } };
      return { content: [{ type: "text", text: `answer: ${String(part.output.value)}` }], finishReason: { unified: "stop", raw: "stop" }, usage, warnings: [] };
    }
    return { content: [{ type: "tool-call", toolCallId: "c1", toolName: "sub", input: JSON.stringify({ request: "x" }) }], finishReason: { unified: "tool-calls", raw: "tool_calls" }, usage, warnings: [] };
  },
});
const inSupervisor = team("nf-supervisor", supervisor({ name: "lead", model, instructions: "go", members: [teamMember(Member, slow, { name: "sub" })] }));

const teams = { inParallel, inMap, gatedInParallel, inSupervisor };

class Desk extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
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
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("a member's own team run inside a fan-out or a supervisor", () => {
  it("a parallel branch waits for the member's run and passes its output on", async () => {
    t = await createTestEnv({ agents: { Desk, Member }, time: "system" });
    const d = t.get<Desk>("Desk", "p") as unknown as Desk;
    expect(await d.result(await d.start("inParallel"))).toBe('next({"sub":"worked(go)"})');
  });

  it("map waits for every item's member run", async () => {
    t = await createTestEnv({ agents: { Desk, Member }, time: "system" });
    const d = t.get<Desk>("Desk", "m") as unknown as Desk;
    expect(await d.result(await d.start("inMap"))).toEqual(["worked(1)", "worked(2)"]);
  });

  it("a supervisor's delegation waits for the member's run and the model sees its output", async () => {
    turns = 0;
    t = await createTestEnv({ agents: { Desk, Member }, time: "system" });
    const d = t.get<Desk>("Desk", "s") as unknown as Desk;
    expect(await d.result(await d.start("inSupervisor"))).toBe('answer: worked({"request":"x"})');
    expect(turns).toBe(2);
  });

  it("a parallel branch whose member's run asks for an approval waits, across a restart, until it is given at the root", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-nested-fan-out-"));
    dirs.push(dataDir);
    t = await createTestEnv({ agents: { Desk, Member }, time: "system", dataDir });
    let d = t.get<Desk>("Desk", "g") as unknown as Desk;
    const id = await d.start("gatedInParallel");
    await until(async () => (await d.status(id)) === "waiting" && (await d.approvals(id)).length === 1);

    await t.close();
    t = await createTestEnv({ agents: { Desk, Member }, time: "system", dataDir });
    d = t.get<Desk>("Desk", "g") as unknown as Desk;
    expect(await d.status(id)).toBe("waiting");
    const [pending] = await d.approvals(id);
    expect(pending!.prompt).toBe("Go on?");
    await d.approve(id, pending!.path);
    expect(await d.result(id)).toBe('next({"sub":"finished(go)"})');
  });
});
