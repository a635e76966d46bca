/**
 * The process bench/teams.ts kills and restarts (part 3, resume after kill -9). Agents `ResumeDesk`
 * run a team of five code steps a → b → c → d → e.
 *
 * Generation 1 starts `agents × perAgent` runs; step c never returns, so every run stays in flight
 * with a and b journaled. Once all runs wait in c it sends `{ type: "blocked" }`, and the parent kills
 * it with SIGKILL. Generation 2 opens the same data: with `wake = request` it calls every agent at
 * once (an agent's start recovers its fibers), with `wake = self` it lets the host wake them (their
 * due-index entries, kept at most `keepAliveIntervalMs` ahead while fibers run). Every step now
 * returns; it reports when each run reached step c again and when the last step ended, every member
 * call it saw, and the runs' statuses, then exits.
 *
 *   node bench/teams-child.ts <dataDir> <generation 1|2> <agents> <perAgent> [request|self]
 */
import { Agent, Host, getAgentByName, type AgentNamespace } from "../dist/index.js";
import { fnMember, pipeline, team, teamRun } from "../dist/teams/index.js";

const [dataDir, generation, agentsArg, perAgentArg, wake = "request"] = process.argv.slice(2);
if (!dataDir || (generation !== "1" && generation !== "2") || !agentsArg || !perAgentArg) {
  throw new Error("usage: teams-child.ts <dataDir> <1|2> <agents> <perAgent> [request|self]");
}
const AGENTS = Number(agentsArg);
const PER_AGENT = Number(perAgentArg);
const TOTAL = AGENTS * PER_AGENT;
/** Short, so the host wakes agents with interrupted fibers soon after a restart (default 30 s). */
const KEEP_ALIVE_MS = 1_000;

/** Member calls seen by this process: "member runId" → count. */
const calls = new Map<string, number>();
/** performance.now() when each run's step c was called (gen 2: it runs again), and when e returned. */
const reachedC = new Map<string, number>();
const finished = new Map<string, number>();

function count(member: string, runId: string): void {
  const key = `${member} ${runId}`;
  calls.set(key, (calls.get(key) ?? 0) + 1);
}

const never = new Promise<never>(() => {});
const wrap = (name: string) => (input: string) => `${name}(${input})`;
const resumeTeam = team(
  "bench-resume",
  pipeline(
    fnMember("a", (input: string, ctx) => (count("a", ctx.runId), wrap("a")(input))),
    fnMember("b", (input: string, ctx) => (count("b", ctx.runId), wrap("b")(input))),
    fnMember("c", async (input: string, ctx) => {
      count("c", ctx.runId);
      reachedC.set(ctx.runId, performance.now());
      if (generation === "1") {
        if (reachedC.size === TOTAL) {
          const blocked: BlockedReport = { runIds: [...reachedC.keys()], calls: Object.fromEntries(calls) };
          process.send?.({ type: "blocked", ...blocked });
        }
        await never;
      }
      return wrap("c")(input);
    }),
    fnMember("d", (input: string, ctx) => (count("d", ctx.runId), wrap("d")(input))),
    fnMember("e", (input: string, ctx) => {
      count("e", ctx.runId);
      finished.set(ctx.runId, performance.now());
      return wrap("e")(input);
    }),
  ),
);

const runIdOf = (agent: number, i: number): string => `r${agent}-${i}`;
const EXPECTED_OUTPUT = "e(d(c(b(a(topic)))))";

export class ResumeDesk extends Agent {
  static options = { keepAliveIntervalMs: KEEP_ALIVE_MS };

  async startRuns(agent: number, perAgent: number): Promise<void> {
    await Promise.all(Array.from({ length: perAgent }, (_, i) => resumeTeam.start(this, "topic", { runId: runIdOf(agent, i) })));
  }

  ping(): boolean {
    return true;
  }

  /** Status → count, and how many completed runs have the expected output. */
  statuses(agent: number, perAgent: number): { byStatus: Record<string, number>; rightOutput: number } {
    const byStatus: Record<string, number> = {};
    let rightOutput = 0;
    for (let i = 0; i < perAgent; i++) {
      const record = teamRun(this, runIdOf(agent, i)).record();
      byStatus[record.status] = (byStatus[record.status] ?? 0) + 1;
      if (record.output === EXPECTED_OUTPUT) rightOutput++;
    }
    return { byStatus, rightOutput };
  }
}

/** What generation 1 reports once every run waits in step c. */
export interface BlockedReport {
  runIds: string[];
  /** "member runId" → calls. */
  calls: Record<string, number>;
}

/** What generation 2 reports (times in ms since this process started). */
export interface ResumeReport {
  keepAliveMs: number;
  hostMs: number;
  allRunningMs: number;
  allDoneMs: number;
  calls: Record<string, number>;
  byStatus: Record<string, number>;
  rightOutput: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const host = new Host({ dataDir, agents: { ResumeDesk }, hibernateAfterMs: 3_600_000 });
const hostMs = performance.now();
const namespace = host.env.ResumeDesk as AgentNamespace<ResumeDesk>;
const stubs = await Promise.all(Array.from({ length: AGENTS }, (_, a) => getAgentByName(namespace, `desk-${a}`)));

if (generation === "1") {
  await Promise.all(stubs.map((stub, a) => stub.startRuns(a, PER_AGENT)));
  await never; // killed by the parent once every run waits in step c
} else {
  if (wake === "request") await Promise.all(stubs.map((stub) => stub.ping()));
  const deadline = performance.now() + 60_000;
  while (finished.size < TOTAL && performance.now() < deadline) await sleep(1);
  const allDoneMs = Math.max(...finished.values());
  await sleep(50); // the last runs' completion commits
  const byStatus: Record<string, number> = {};
  let rightOutput = 0;
  for (const [a, stub] of stubs.entries()) {
    const result = await stub.statuses(a, PER_AGENT);
    for (const [status, n] of Object.entries(result.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + n;
    rightOutput += result.rightOutput;
  }
  const report: ResumeReport = {
    keepAliveMs: KEEP_ALIVE_MS,
    hostMs,
    allRunningMs: reachedC.size === TOTAL ? Math.max(...reachedC.values()) : Number.NaN,
    allDoneMs: finished.size === TOTAL ? allDoneMs : Number.NaN,
    calls: Object.fromEntries(calls),
    byStatus,
    rightOutput,
  };
  await host.close();
  process.send?.({ type: "report", report }, () => process.exit(0));
}
