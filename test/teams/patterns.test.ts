import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import {
  approval,
  branch,
  fallback,
  fnMember,
  handoff,
  loop,
  map,
  parallel,
  pipeline,
  route,
  step,
  subAgentMember,
  team,
  teamRun,
  type TeamNode,
} from "../../src/teams/index.ts";

const calls: string[] = [];
const echo = (name: string) => fnMember(name, (input: unknown) => (calls.push(name), `${name}(${String(input)})`));
let flaky = 0;

class Specialist extends Agent {
  answer(question: string): string {
    calls.push(`specialist:${this.name}`);
    this.sql`CREATE TABLE IF NOT EXISTS answered (q TEXT)`;
    this.sql`INSERT INTO answered VALUES (${question})`;
    return `${this.name} answers ${question}`;
  }
  answered(): number {
    this.sql`CREATE TABLE IF NOT EXISTS answered (q TEXT)`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM answered`[0]!.n;
  }
}

const teams = {
  pipeline: team("t-pipeline", pipeline(echo("research"), echo("draft"), echo("review"))),
  route: team(
    "t-route",
    route({ routes: { billing: echo("billing"), support: echo("support") }, by: (q) => (String(q).includes("invoice") ? "billing" : undefined), default: "support" }),
  ),
  routeNamedDecision: team("t-route-decision", route({ routes: { decision: echo("decide"), other: echo("other") }, by: (q) => (String(q) === "other" ? "other" : "decision") })),
  parallel: team("t-parallel", parallel({ pro: echo("pro"), con: echo("con") }, { reduce: (r) => `${String(r.pro)} vs ${String(r.con)}` })),
  // One at a time: a branch sharing a journal place with the one before would replay its result.
  lookalikes: team("t-lookalikes", parallel({ "a/b": echo("slash"), "a∕b": echo("division"), "a%E2%88%95b": echo("escaped"), "a%25": echo("percent") }, { concurrency: 1 })),
  map: team("t-map", map(echo("sum"), { items: (s) => String(s).split(","), concurrency: 2 })),
  branch: team("t-branch", branch((q) => String(q).length > 5, { then: echo("long"), else: echo("short") })),
  loop: team("t-loop", loop(fnMember("inc", (n: number) => n + 1), { until: (n) => (n as number) >= 3, maxIterations: 5 })),
  loopLimit: team("t-loop-limit", loop(fnMember("inc", (n: number) => n + 1), { until: () => false, maxIterations: 2 })),
  fallback: team(
    "t-fallback",
    fallback([fnMember("primary", () => Promise.reject(new Error("primary is down"))), fnMember("empty", () => ""), echo("backup")], { check: (o) => o !== "" }),
  ),
  retries: team(
    "t-retries",
    step(
      fnMember("flaky", () => {
        flaky++;
        if (flaky < 3) throw new Error(`flaky attempt ${flaky}`);
        return `ok after ${flaky}`;
      }),
      { retries: 3, backoffMs: 0 },
    ),
  ),
  retriesThenFallback: team("t-retries-fallback", step(fnMember("broken", () => Promise.reject(new TypeError("broken"))), { retries: 1, backoffMs: 0, fallback: echo("spare") })),
  approvals: team("t-approvals", parallel({ a: pipeline(approval("ok a?"), echo("a")), b: pipeline(approval("ok b?"), echo("b")), c: echo("c") })),
  handoff: team(
    "t-handoff",
    handoff({
      name: "desk",
      start: "triage",
      members: {
        triage: fnMember("triage", (q: string) => (q.includes("refund") ? { transfer: "billing" } : `triage: ${q}`)),
        billing: fnMember("billing", (q: string) => `billing: ${q}`),
      },
      handoffOf: (o) => (typeof o === "object" && o !== null && "transfer" in o ? { to: String((o as { transfer: string }).transfer) } : undefined),
    }),
  ),
  subAgents: team("t-sub-agents", parallel({ x: subAgentMember(Specialist, { name: "x", method: "answer" }), y: subAgentMember(Specialist, { name: "y", method: "answer" }) })),
} satisfies Record<string, { name: string }>;

class Desk extends Agent {
  async run(which: keyof typeof teams, input: unknown, options: { conversation?: string } = {}): Promise<unknown> {
    return teams[which].run(this, input, options);
  }
  async start(which: keyof typeof teams, input: unknown): Promise<string> {
    return (await teams[which].start(this, input)).id;
  }
  async startWithId(which: keyof typeof teams, runId: string): Promise<string> {
    return (await teams[which].start(this, "x", { runId })).id;
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
  async reject(id: string, path: string): Promise<void> {
    await teamRun(this, id).reject(path, "no thanks");
  }
  stepPaths(id: string): (string | undefined)[] {
    return teamRun(this, id).events().filter((event) => event.type === "step-finished").map((event) => event.path);
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
  async specialistCount(name: string): Promise<number> {
    return (await this.subAgent(Specialist, name)).answered();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  calls.length = 0;
  flaky = 0;
});

async function desk(): Promise<Desk> {
  t = await createTestEnv({ agents: { Desk, Specialist }, time: "system" });
  return t.get<Desk>("Desk", "d1") as unknown as Desk;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("team patterns", () => {
  it("a run id names one run: starting it again returns that run; another team may not take it", async () => {
    const d = await desk();
    expect(await d.run("pipeline", "q", {})).toBe("review(draft(research(q)))");
    const id = await d.startWithId("pipeline", "same");
    expect(await d.startWithId("pipeline", "same")).toBe(id);
    await expect(d.startWithId("route", "same")).rejects.toThrow("Team run same exists already and belongs to team t-pipeline, not t-route");
  });

  it("pipeline passes each output on", async () => {
    const d = await desk();
    expect(await d.run("pipeline", "q")).toBe("review(draft(research(q)))");
    expect(calls).toEqual(["research", "draft", "review"]);
  });

  it("route: code first, then the default", async () => {
    const d = await desk();
    expect(await d.run("route", "my invoice")).toBe("billing(my invoice)");
    expect(await d.run("route", "hello")).toBe("support(hello)");
  });

  it("route: a route may be called \"decision\" (its journal place is not the routing decision's)", async () => {
    const d = await desk();
    expect(await d.run("routeNamedDecision", "q")).toBe("decide(q)");
    expect(calls).toEqual(["decide"]);
  });

  it("parallel merges with its reducer; map keeps item order", async () => {
    const d = await desk();
    expect(await d.run("parallel", "x")).toBe("pro(x) vs con(x)");
    expect(await d.run("map", "1,2,3")).toEqual(["sum(1)", "sum(2)", "sum(3)"]);
  });

  it("parallel: branch names that differ only in \"/\", \"∕\" or \"%\" have journal places of their own", async () => {
    const d = await desk();
    const id = await d.start("lookalikes", "x");
    expect(await d.result(id)).toEqual({ "a/b": "slash(x)", "a∕b": "division(x)", "a%E2%88%95b": "escaped(x)", "a%25": "percent(x)" });
    expect(calls).toEqual(["slash", "division", "escaped", "percent"]);
    // A name without "∕" or "%" keeps the place it always had: journals written before still replay.
    expect(await d.stepPaths(id)).toEqual(["a∕b", "a%E2%88%95b", "a%25E2%2588%2595b", "a%2525"]);
  });

  it("branch and loop (with its exit and its limit)", async () => {
    const d = await desk();
    expect(await d.run("branch", "a long question")).toBe("long(a long question)");
    expect(await d.run("branch", "hi")).toBe("short(hi)");
    expect(await d.run("loop", 0)).toBe(3);
    await expect(d.run("loopLimit", 0)).rejects.toThrow("loop reached maxIterations (2) without its exit condition holding");
  });

  it("fallback moves on after an error and after a failed check", async () => {
    const d = await desk();
    expect(await d.run("fallback", "q")).toBe("backup(q)");
  });

  it("step retries, then falls back", async () => {
    const d = await desk();
    expect(await d.run("retries", "q")).toBe("ok after 3");
    expect(await d.run("retriesThenFallback", "q")).toBe("spare(q)");
  });

  it("parallel approvals resume independently, in any order; a finished branch is never redone", async () => {
    const d = await desk();
    const id = await d.start("approvals", "go");
    await until(async () => (await d.status(id)) === "waiting");
    expect(calls).toEqual(["c"]);
    const pending = await d.approvals(id);
    expect(pending.map((p) => p.prompt).sort()).toEqual(["ok a?", "ok b?"]);
    const b = pending.find((p) => p.prompt === "ok b?")!;
    await d.approve(id, b.path);
    await until(async () => calls.includes("b") && (await d.status(id)) === "waiting");
    expect(await d.approvals(id)).toHaveLength(1);
    await d.approve(id, pending.find((p) => p.prompt === "ok a?")!.path);
    expect(await d.result(id)).toEqual({ a: "a(go)", b: "b(go)", c: "c(go)" });
    expect(calls.sort()).toEqual(["a", "b", "c"]);
  });

  it("a rejected approval fails the run", async () => {
    const d = await desk();
    const id = await d.start("approvals", "go");
    await until(async () => (await d.status(id)) === "waiting");
    await d.reject(id, (await d.approvals(id))[0]!.path);
    await expect(d.result(id)).rejects.toThrow("no thanks");
  });

  it("handoff: the new owner answers the conversation's next messages", async () => {
    const d = await desk();
    expect(await d.run("handoff", "hello", { conversation: "c1" })).toBe("triage: hello");
    expect(await d.run("handoff", "I want a refund", { conversation: "c1" })).toBe("billing: I want a refund");
    expect(await d.run("handoff", "and another thing", { conversation: "c1" })).toBe("billing: and another thing");
    expect(await d.run("handoff", "hello", { conversation: "c2" })).toBe("triage: hello");
  });

  it("sub-agent members answer in their own databases", async () => {
    const d = await desk();
    expect(await d.run("subAgents", "why?")).toEqual({ x: "x answers why?", y: "y answers why?" });
    expect(await d.specialistCount("x")).toBe(1);
    expect(await d.specialistCount("y")).toBe(1);
  });
});

describe("team definitions", () => {
  it("compose steps typed for their own input (a compile-time check as much as a run-time one)", () => {
    const typed = step(fnMember("upper", (x: string) => x.toUpperCase()), { input: (q: string) => q.trim(), needsApproval: (value) => value === "" });
    const composed = pipeline(typed, step(echo("next"), { input: (value: string, scratch) => `${value}${String(scratch.suffix ?? "")}` }));
    expect(composed.steps).toHaveLength(2);
  });

  it("refuse what is not a node, with a clear message", () => {
    expect(() => pipeline(Desk as unknown as TeamNode)).toThrow("pipeline() step 0 must be a team node (a member, step, pipeline, …); got a function or class (Desk)");
    expect(() => route({ routes: { a: echo("a") }, default: "b", by: () => "a" })).toThrow('route({ default }) names "b", which is not one of its routes (a)');
    expect(() => loop(echo("a"), {} as never)).toThrow("loop({ until }) must be a function: a loop needs an exit");
    expect(() => team("bad name!", echo("a"))).toThrow('A team name must be 1-64 letters, digits, "_", "." or "-"');
  });
});
