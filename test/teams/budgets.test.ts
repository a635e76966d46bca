import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TeamJournal } from "../../src/teams/journal.ts";
import { usageTotals } from "../../src/teams/run-signal.ts";
import { runtimeOf } from "../../src/teams/runtime-of.ts";
import { approval, fnMember, loop, parallel, pipeline, step, team, teamMember, teamRun, type FnMemberContext, type TeamLimits, type TeamMember } from "../../src/teams/index.ts";

const spent: string[] = [];
/** A member that spends 300 tokens (after a short wait, so parallel calls overlap). */
function spender(name: string, estimate?: { tokens: number }): TeamMember<unknown, string> {
  return {
    kind: "member",
    name,
    ...(estimate ? { estimate } : {}),
    async call(_input, context) {
      // Honours the run's signal: a branch stopped by a sibling's failure spends nothing more.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 20);
        context.signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("stopped"))), { once: true });
      });
      spent.push(name);
      return { output: name, usage: { model: "gpt-5-mini", inputTokens: 200, outputTokens: 100 } };
    },
  };
}
/** Code that calls a model itself twice per call and reports what each call spent. */
function reporter(n: unknown, context: FnMemberContext): number {
  spent.push("reporter");
  context.usage({ model: "gpt-5-mini", inputTokens: 400, outputTokens: 200 });
  context.usage({ inputTokens: 100, toolCalls: 2 });
  return typeof n === "number" ? n + 1 : 1;
}
const five = { a: spender("a"), b: spender("b"), c: spender("c"), d: spender("d"), e: spender("e") };
/** Code that calls a model (500 tokens), reports it, then fails: on every call, or on the first only. */
function spendsThenFails(name: string, failures = Infinity): TeamMember<unknown, string> {
  let calls = 0;
  return fnMember(name, (_input: unknown, context) => {
    spent.push(name);
    context.usage({ model: "gpt-5-mini", inputTokens: 400, outputTokens: 100 });
    if (++calls <= failures) throw new Error(`${name}: the model's answer was unusable`);
    return name;
  });
}

/** A sub-agent whose team run spends, then fails. */
class Analyst extends Agent {}
/** A member's team run that spends 0.30 USD on a priced model (400k input, 100k output tokens of gpt-5-mini). */
const costly = team("b-costly", fnMember("big-model", (_input: unknown, context) => (context.usage({ model: "gpt-5-mini", inputTokens: 400_000, outputTokens: 100_000 }), "big")), {
  limits: { tokens: 1_000_000 },
});
const analysis = team("b-analysis", pipeline(fnMember("read", (_input: unknown, context) => (context.usage({ inputTokens: 250, outputTokens: 50 }), "read")), spendsThenFails("conclude")));

const teams = {
  parallelFail: team("b-parallel", parallel(five), { limits: { tokens: 1000, reserveTokens: 300 } }),
  ask: team("b-ask", parallel(five), { limits: { tokens: 1000, reserveTokens: 300 }, onExhausted: "ask" }),
  degrade: team("b-degrade", parallel({ big: step(spender("big", { tokens: 1000 }), { degradeTo: fnMember("cheap", () => "cheap answer") }), small: spender("small") }), {
    limits: { tokens: 400, reserveTokens: 300 },
    onExhausted: "degrade",
  }),
  perMember: team("b-per-member", loop(step(spender("chatty", { tokens: 300 }), { limits: { tokens: 500 } }), { until: () => false, maxIterations: 5 })),
  perMemberAsk: team("b-per-member-ask", loop(step(spender("chatty", { tokens: 300 }), { limits: { tokens: 500 } }), { until: () => false, maxIterations: 5 }), {
    onExhausted: "ask",
  }),
  callsParallel: team("b-calls-parallel", parallel({ a: fnMember("a", () => (spent.push("a"), "a")), b: fnMember("b", () => (spent.push("b"), "b")), c: fnMember("c", () => (spent.push("c"), "c")) }), {
    limits: { calls: 2 },
  }),
  longWall: team("b-long-wall", spender("patient", { tokens: 300 }), { limits: { wallMs: 30 * 24 * 3_600_000 } }),
  grantedThenPause: team("b-granted", pipeline(spender("big", { tokens: 300 }), approval("Go on?"), fnMember("after", () => (spent.push("after"), "after"))), {
    limits: { tokens: 100 },
    onExhausted: "ask",
  }),
  memberOverspends: team("b-member-overspends", pipeline(step(fnMember("reporter", reporter), { limits: { tokens: 100 } }), fnMember("after", () => (spent.push("after"), "after")))),
  reporting: team("b-reporting", loop(fnMember("reporter", reporter), { until: () => false, maxIterations: 5 }), { limits: { tokens: 2_000 } }),
  reportingTools: team("b-reporting-tools", loop(fnMember("reporter", reporter), { until: () => false, maxIterations: 5 }), { limits: { toolCalls: 3 } }),
  failedSpending: team("b-failed-spending", step(spendsThenFails("flaky-once", 1), { retries: 1, backoffMs: 0 }), { limits: { tokens: 400 } }),
  failedThenFallback: team("b-failed-fallback", step(spendsThenFails("broken"), { fallback: fnMember("spare", () => "spare") })),
  failedMemberRun: team("b-failed-member-run", step(teamMember(Analyst, analysis, { name: "analysis" }), { fallback: fnMember("spare", () => "spare") })),
  costlyMember: team("b-costly-member", pipeline(teamMember(Analyst, costly, { name: "costly" }), fnMember("after", () => (spent.push("after"), "after"))), {
    limits: { tokens: 1_000_000, costUsd: 0.25 },
  }),
  loudEvent: team("b-loud-event", fnMember("loud", (_input: unknown, context) => {
    try {
      context.emit({ type: "status", data: "x".repeat(262_145) });
    } catch (error) {
      context.emit({ type: "status", data: "small" });
      return String(error);
    }
    return "stored";
  })),
  manyEvents: team("b-many-events", fnMember("chatter", (_input: unknown, context) => {
    for (let n = 1; ; n++) {
      try {
        context.emit({ type: "text-delta", data: n });
      } catch (error) {
        return `${n}: ${String(error)}`;
      }
    }
  })),
  endless: team("b-endless", loop(fnMember("again", (n: number) => n + 1), { until: () => false, maxIterations: 1000 })),
} satisfies Record<string, { name: string }>;

class Owner extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
  }
  async startWith(which: keyof typeof teams, limits: TeamLimits): Promise<string> {
    return (await teams[which].start(this, "go", { limits })).id;
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
  record(id: string) {
    return teamRun(this, id).record();
  }
  events(id: string) {
    return teamRun(this, id).events();
  }
  steps(id: string) {
    return [...new TeamJournal(runtimeOf(this).db).steps(id).values()];
  }
  approvals(id: string) {
    return teamRun(this, id).approvals();
  }
  /** Makes a granted extension look as an older version journaled it: in its approval only, not in the run's limits. */
  journalGrantAsBefore(id: string, path: string, limits: TeamLimits): void {
    const journal = new TeamJournal(runtimeOf(this).db);
    const grant = journal.steps(id).get(path)!;
    const { inLimits: _saved, ...before } = grant.output as Record<string, unknown>;
    journal.writeStep(id, { ...grant, output: before });
    journal.setLimits(id, { ...journal.run(id)!.limits, ...limits });
  }
  async approve(id: string, path: string, value?: unknown): Promise<void> {
    await teamRun(this, id).approve(path, value);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  spent.length = 0;
});

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner, Analyst }, time: "system" });
  return t.get<Owner>("Owner", "o1") as unknown as Owner;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("team budgets", () => {
  it("parallel branches cannot overspend: a call that does not fit is refused before it runs", async () => {
    const o = await owner();
    const id = await o.start("parallelFail");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: tokens would reach 1200 tokens (limit 1000");
    // Three reservations of 300 fit in 1,000; the fourth was refused, and the branches under way were stopped.
    expect(spent.length).toBeLessThanOrEqual(3);
    const record = await o.record(id);
    expect(record.status).toBe("failed");
    expect(record.error?.name).toBe("BudgetExceededError");
  });

  it("ask: the run waits for a person to grant more, then goes on", async () => {
    const o = await owner();
    const id = await o.start("ask");
    await until(async () => (await o.record(id)).status === "waiting");
    const asks = await o.approvals(id);
    expect(asks.length).toBeGreaterThan(0);
    expect(asks.every((a) => a.kind === "budget" && a.prompt.includes("Approve to extend the tokens budget"))).toBe(true);
    for (const ask of asks) await o.approve(id, ask.path, { tokens: 1000 });
    expect(await o.result(id)).toEqual({ a: "a", b: "b", c: "c", d: "d", e: "e" });
    const events = (await o.events(id)).map((e) => e.type);
    expect(events.filter((type) => type === "approval-requested")).toHaveLength(2);
    expect(events.at(-1)).toBe("run-completed");
    expect([...spent].sort()).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("degrade: a step that does not fit runs its cheaper stand-in", async () => {
    const o = await owner();
    expect(await o.result(await o.start("degrade"))).toEqual({ big: "cheap answer", small: "small" });
  });

  it("a member's own limits count all its calls in the run", async () => {
    const o = await owner();
    const id = await o.start("perMember");
    await expect(o.result(id)).rejects.toThrow("Member chatty budget exhausted: tokens would reach 600 tokens (its limit 500 in this run)");
    expect(spent).toEqual(["chatty"]);
  });

  it("ask: a member's own limit fails the run instead of asking for a run extension that could never fit it", async () => {
    const o = await owner();
    const id = await o.start("perMemberAsk");
    await expect(o.result(id)).rejects.toThrow("Member chatty budget exhausted: tokens would reach 600 tokens (its limit 500 in this run)");
    expect(await o.approvals(id)).toEqual([]);
    expect((await o.events(id)).some((e) => e.type === "approval-requested")).toBe(false);
    expect(spent).toEqual(["chatty"]);
  });

  it("a member event over 256 KiB of JSON is refused with a clear error, and nothing of it is stored", async () => {
    const o = await owner();
    const id = await o.start("loudEvent");
    expect(await o.result(id)).toBe("RangeError: A team member event holds at most 262144 characters of JSON in its data (got 262147); nothing was stored");
    const stored = (await o.events(id)).filter((e) => e.type === "member-event");
    expect(stored.map((e) => (e.data as { data: unknown }).data)).toEqual(["small"]);
  });

  it("a run stores at most 100,000 events: a member's next one is refused with a clear error", async () => {
    const o = await owner();
    const id = await o.start("manyEvents");
    const answer = String(await o.result(id));
    // run-started and step-started came first: the member stored 99,998 of its own.
    expect(answer).toBe(`99999: RangeError: Team run ${id} stores at most 100000 events; member chatter's event was not stored (emit less often, e.g. batch text deltas)`);
  }, 60_000);

  it("a member's call that spends past its own limit stops the run after that call, as the run's limit does", async () => {
    const o = await owner();
    const id = await o.start("memberOverspends");
    await expect(o.result(id)).rejects.toThrow("Member reporter budget exhausted: tokens spent 700 (its limit 100 in this run)");
    expect(spent).toEqual(["reporter"]);
  });

  it("an endless loop is stopped by the default call limit", async () => {
    const o = await owner();
    const id = await o.start("endless");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: calls would reach 101 calls (limit 100");
  });

  it("a limit that JSON cannot hold is refused at start instead of leaving the run running for ever", async () => {
    const o = await owner();
    await expect(o.startWith("longWall", { tokens: Infinity })).rejects.toThrow("Team limit tokens must be a finite number");
    expect(() => team("b-unbounded", fnMember("free", () => "free"), { limits: { costUsd: Infinity } })).toThrow("Team limit costUsd must be a finite number");
  });

  it("a wallMs longer than a timer can hold does not end the run at once", async () => {
    const o = await owner();
    expect(await o.result(await o.start("longWall"))).toBe("patient");
  });

  it("calls in flight count against the calls limit: parallel branches cannot make more calls than it allows", async () => {
    const o = await owner();
    const id = await o.start("callsParallel");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: calls would reach 3 calls (limit 2");
    expect(spent.length).toBeLessThanOrEqual(2);
  });

  it("ask: a granted extension still holds after the run waited again (it is in the run's limits)", async () => {
    const o = await owner();
    const id = await o.start("grantedThenPause");
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "budget"));
    const [ask] = await o.approvals(id);
    await o.approve(id, ask!.path, { tokens: 1000 });
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "step"));
    const [step] = await o.approvals(id);
    await o.approve(id, step!.path);
    await until(async () => (await o.record(id)).status === "completed" || (await o.approvals(id)).length > 0);
    expect(await o.approvals(id)).toEqual([]);
    expect(await o.result(id)).toBe("after");
    expect((await o.events(id)).filter((e) => e.type === "approval-requested")).toHaveLength(2);
  });

  it("a code member's usage reported with ctx.usage counts in the run's budget and usage", async () => {
    const o = await owner();
    const id = await o.start("reporting");
    // 700 tokens a call: the third brings the run to 2,100, over its 2,000.
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: tokens spent 2100 (limit 2000)");
    expect(spent).toEqual(["reporter", "reporter", "reporter"]);
    const finished = (await o.events(id)).filter((e) => e.type === "step-finished");
    expect(finished[0]!.data).toEqual({ kind: "member", usage: { model: "gpt-5-mini", inputTokens: 500, outputTokens: 200, toolCalls: 2 } });
    const steps = (await o.steps(id)).filter((step) => step.kind === "member");
    expect(usageTotals("b-reporting", steps.map((step) => step.usage)).tokens).toBe(2100);
  });

  it("a code member's reported tool calls count against the toolCalls limit", async () => {
    const o = await owner();
    const id = await o.start("reportingTools");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: toolCalls spent 4 (limit 3)");
    expect(spent).toEqual(["reporter", "reporter"]);
  });

  it("usage a member reported before it threw counts in the run's budget", async () => {
    const o = await owner();
    const id = await o.start("failedSpending");
    // The failed attempt spent 500 tokens of the 400: the retry no longer fits.
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: tokens would reach 500 tokens (limit 400");
    expect(spent).toEqual(["flaky-once"]);
  });

  it("usage a member reported before it threw counts in the run's usage totals and its step-failed event", async () => {
    const o = await owner();
    const id = await o.start("failedThenFallback");
    expect(await o.result(id)).toBe("spare");
    const failed = (await o.events(id)).find((e) => e.type === "step-failed")!;
    expect(failed.data).toMatchObject({ kind: "member", usage: { model: "gpt-5-mini", inputTokens: 400, outputTokens: 100 } });
    const steps = (await o.steps(id)).filter((step) => step.kind === "member");
    expect(usageTotals("b-failed-fallback", steps.map((step) => step.usage)).tokens).toBe(500);
  });

  it("what a member's own team run spent before it failed counts in the parent's run", async () => {
    const o = await owner();
    const id = await o.start("failedMemberRun");
    expect(await o.result(id)).toBe("spare");
    const failed = (await o.steps(id)).find((step) => step.status === "failed")!;
    expect(failed.error?.message).toBe("conclude: the model's answer was unusable");
    // 300 tokens read, 500 spent by the step that failed, in the member's own run.
    expect(usageTotals("b-failed-member-run", [failed.usage]).tokens).toBe(800);
  });

  it("what a member's own team run cost counts against the parent's costUsd", async () => {
    const o = await owner();
    const id = await o.start("costlyMember");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: costUsd spent 0.3000 (limit 0.2500)");
    expect(spent).toEqual([]);
  });

  it("ask: a granted extension is saved into the run's limits", async () => {
    const o = await owner();
    const id = await o.start("grantedThenPause");
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "budget"));
    expect((await o.record(id)).limits.tokens).toBe(100);
    const [ask] = await o.approvals(id);
    await o.approve(id, ask!.path, { tokens: 1000 });
    expect((await o.record(id)).limits.tokens).toBe(1100);
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "step"));
    expect((await o.record(id)).limits.tokens).toBe(1100);
    // Approving nothing doubles the limit that ran out: saved as the doubled value.
    const id2 = await o.start("grantedThenPause");
    await until(async () => (await o.approvals(id2)).some((a) => a.kind === "budget"));
    await o.approve(id2, (await o.approvals(id2))[0]!.path);
    expect((await o.record(id2)).limits.tokens).toBe(200);
  });

  it("ask: an extension granted before grants were saved into the limits still holds, and is saved once", async () => {
    const o = await owner();
    const id = await o.start("grantedThenPause");
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "budget"));
    const [ask] = await o.approvals(id);
    await o.approve(id, ask!.path, { tokens: 1000 });
    await until(async () => (await o.approvals(id)).some((a) => a.kind === "step"));
    await o.journalGrantAsBefore(id, ask!.path, { tokens: 100 });
    const [step] = await o.approvals(id);
    await o.approve(id, step!.path);
    expect(await o.result(id)).toBe("after");
    expect((await o.record(id)).limits.tokens).toBe(1100);
  });
});
