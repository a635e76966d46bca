/**
 * Benchmark: agent teams (`hearth/teams`).
 *
 *  1. Overhead per step (goal ≤ 0.5 ms): a pipeline of N no-op `fnMember` steps, and a parallel of N,
 *     against the same functions called directly; disk and tmpfs, durability relaxed and strict. In a
 *     pipeline, the time from one member's return to the next member's call is the engine's cost of a
 *     step (a step row and two events written, then the commit awaited); a whole run over N direct
 *     calls, divided by N, adds the run's start and finish. Each agent serves 50 runs, so the figures
 *     are not those of an agent holding many finished runs (part 2 measures that).
 *  2. Finishing a run once its agent keeps 1,000 finished runs (the default `keepFinishedRuns`).
 *  3. 1,000 concurrent runs of 5 steps, each step a `modelMember` on the offline demo model
 *     (`wordDelayMs: 0`): runs and steps per second once all are in flight (the first step holds
 *     every run at a gate until all 1,000 wait there), and the heap and RSS a run in flight costs;
 *     100 agents × 10 runs and 1 agent × 1,000.
 *  4. Resume after kill -9 with 1,000 runs in flight (bench/teams-child.ts): from the restart until
 *     every run executes again and until all completed; no finished step may run twice.
 *
 *   npm run build && npx node --expose-gc bench/teams.ts [--steps 20] [--seconds 2] [--runs 1000] [--only overhead,finish,concurrent,resume]
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Agent, Host, getAgentByName, type AgentNamespace } from "../dist/index.js";
import { createDemoModel } from "../dist/chat/index.js";
import { fnMember, modelMember, parallel, pipeline, team, type TeamMember } from "../dist/teams/index.js";
import type { BlockedReport, ResumeReport } from "./teams-child.ts";
import { SHM_DIR, emit, flag, log, percentile, shmAvailable, sleep, withDataDir, type Row } from "./lib/common.ts";

const BENCH = "teams";
const STEPS = Number(flag("steps") ?? 20);
const SECONDS = Number(flag("seconds") ?? 2);
const RUNS = Number(flag("runs") ?? 1_000);
const ONLY = flag("only")?.split(",");
const RUNS_PER_AGENT = 50;
const KEPT = 1_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("teams.ts needs --expose-gc for its memory figures: node --expose-gc bench/teams.ts (bench/run.ts passes it)");
  process.exit(2);
}

const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const p50 = (values: readonly number[]): number => percentile(sorted(values), 50);
const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
const where = (base: string | undefined): string => (base ? "tmpfs" : "disk");
const thousands = (n: number): string => n.toLocaleString("en-US");
const spreadOf = (agents: number): string => `${thousands(agents)} agent${agents === 1 ? "" : "s"} × ${thousands(RUNS / agents)} runs`;

async function waitFor(condition: () => boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

// ── 1, 2. overhead per step, finishing a run ─────────────────────────────────────────────────────

/** performance.now() as each no-op member call began and ended, in call order. */
let marks: number[] = [];
const noop = (input: number): number => {
  marks.push(performance.now());
  marks.push(performance.now());
  return input + 1;
};
const members = Array.from({ length: STEPS }, (_, i) => fnMember(`s${i}`, noop));
const limits = { calls: 10_000 };
const chain = team("bench-pipeline", pipeline(...members), { limits });
const fan = team("bench-parallel", parallel(Object.fromEntries(members.map((m) => [m.name, m])), { reduce: () => 0 }), { limits });
const single = team("bench-single", pipeline(fnMember("only", noop)));

interface Timing {
  /** ms: the N direct calls; the team run from start() to its result; start() alone (durable). */
  directMs: number;
  runMs: number;
  startMs: number;
  /** ms from one member's return to the next one's call (pipeline). */
  gaps: number[];
  /** ms from the last member's return to result() resolving. */
  finishMs: number;
}

export class OverheadBench extends Agent {
  async once(shape: "pipeline" | "parallel" | "single"): Promise<Timing> {
    const definition = shape === "pipeline" ? chain : shape === "parallel" ? fan : single;
    let t = performance.now();
    if (shape === "parallel") await Promise.all(members.map(() => Promise.resolve(0).then(noop)));
    else for (let i = 0, value = 0; i < STEPS; i++) value = await noop(value);
    const directMs = performance.now() - t;
    marks = [];
    t = performance.now();
    const run = await definition.start(this, 0);
    const startMs = performance.now() - t;
    await run.result();
    const end = performance.now();
    const gaps: number[] = [];
    if (shape === "pipeline") for (let i = 2; i < marks.length; i += 2) gaps.push(marks[i]! - marks[i - 1]!);
    return { directMs, runMs: end - t, startMs, gaps, finishMs: end - Math.max(...marks) };
  }
}

async function overheadOf(shape: "pipeline" | "parallel", base: string | undefined, durability: "relaxed" | "strict"): Promise<Row> {
  return withDataDir("teams-overhead", base, async (dataDir) => {
    const host = new Host({ dataDir, agents: { OverheadBench }, durability });
    try {
      const namespace = host.env.OverheadBench as AgentNamespace<OverheadBench>;
      const agentFor = (i: number) => getAgentByName(namespace, `bench-${Math.floor(i / RUNS_PER_AGENT)}`);
      for (let i = 0; i < 5; i++) await (await agentFor(0)).once(shape); // warm-up: JIT, statement cache
      const timings: Timing[] = [];
      const until = performance.now() + SECONDS * 1000;
      for (let i = RUNS_PER_AGENT; timings.length < 5 || (performance.now() < until && timings.length < 1000); i++) {
        timings.push(await (await agentFor(i)).once(shape));
      }
      const perStep = timings.map((t) => (t.runMs - t.directMs) / STEPS);
      const gaps = timings.flatMap((t) => t.gaps);
      const between = shape === "pipeline" ? `from a member's return to the next call: p50 ${us(p50(gaps))}, mean ${us(mean(gaps))}, p99 ${us(percentile(sorted(gaps), 99))}; ` : "";
      const note =
        `${timings.length} runs of ${STEPS} steps; ${between}(run − direct calls) / ${STEPS}: p50 ${us(p50(perStep))}, mean ${us(mean(perStep))}; ` +
        `run p50 ${p50(timings.map((t) => t.runMs)).toFixed(2)} ms, of which start() ${p50(timings.map((t) => t.startMs)).toFixed(2)} ms` +
        (shape === "pipeline" ? `, last member's return to result() ${p50(timings.map((t) => t.finishMs)).toFixed(2)} ms` : "") +
        `; ${STEPS} direct calls ${us(p50(timings.map((t) => t.directMs)))}`;
      log(`${shape}, ${where(base)}, ${durability}: ${note}`);
      return {
        bench: BENCH,
        metric: `overhead per step, ${shape} of ${STEPS} no-op fnMembers, ${where(base)}, ${durability}`,
        value: shape === "pipeline" ? p50(gaps) : p50(perStep),
        unit: "ms",
        goal: { op: "<=", value: 0.5 },
        note,
      };
    } finally {
      await host.close();
    }
  });
}

async function overhead(): Promise<Row[]> {
  const rows: Row[] = [];
  const bases = shmAvailable() ? [undefined, SHM_DIR] : [undefined];
  for (const shape of ["pipeline", "parallel"] as const) {
    for (const base of bases) for (const durability of ["relaxed", "strict"] as const) rows.push(await overheadOf(shape, base, durability));
  }
  return rows;
}

/** From the last member's return to result(), for one agent's first runs and once it keeps KEPT finished runs. */
async function finish(): Promise<Row[]> {
  return withDataDir("teams-finish", shmAvailable() ? SHM_DIR : undefined, async (dataDir) => {
    const host = new Host({ dataDir, agents: { OverheadBench } });
    try {
      const agent = await getAgentByName(host.env.OverheadBench as AgentNamespace<OverheadBench>, "kept");
      const finishes: number[] = [];
      const start = performance.now();
      for (let i = 0; i < KEPT + 100; i++) finishes.push((await agent.once("single")).finishMs);
      const first = p50(finishes.slice(0, 100));
      const kept = p50(finishes.slice(KEPT));
      log(`finishing a run: p50 ${us(first)} for the first 100 runs, ${us(kept)} with ${thousands(KEPT)} finished runs kept (${((performance.now() - start) / 1000).toFixed(1)} s)`);
      return [
        {
          bench: BENCH,
          metric: `finishing a run (last member's return → result()), agent keeping ${thousands(KEPT)} finished runs`,
          value: kept,
          unit: "ms",
          note: `p50 of runs ${thousands(KEPT + 1)}–${thousands(KEPT + 100)} of one agent (1-step pipeline, tmpfs, relaxed); ${first.toFixed(3)} ms for its first 100 runs`,
        },
      ];
    } finally {
      await host.close();
    }
  });
}

// ── 3. 1,000 concurrent runs on the demo model ──────────────────────────────────────────────────

const model = createDemoModel({ wordDelayMs: 0 });
const writers = Array.from({ length: 5 }, (_, i) => modelMember(`w${i}`, { model, system: "Answer in one sentence.", estimate: { tokens: 200 } }));
/** Opened once every run waits in its first step, so that all are in flight at once. */
let gate = Promise.withResolvers<void>();
let atGate = 0;
let completed = 0;
const gated: TeamMember = {
  ...writers[0]!,
  async call(input, context) {
    atGate++;
    await gate.promise;
    return writers[0]!.call(input, context);
  },
};
const five = team("bench-five", pipeline(gated, ...writers.slice(1)));

export class ConcurrentBench extends Agent {
  /** Starts a run (recorded durably when this returns) and counts it once it completed. */
  async ask(runId: string): Promise<void> {
    const run = await five.start(this, `Question ${runId}: what is the weather in Lisbon?`, { runId });
    void run.result().then(
      () => completed++,
      (error: unknown) => console.error(`run ${runId} failed:`, error),
    );
  }

  ping(): boolean {
    return true;
  }
}

function memory(): { heapUsed: number; rss: number } {
  for (let i = 0; i < 3; i++) gc!();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

async function concurrentRuns(agents: number): Promise<Row[]> {
  const perAgent = RUNS / agents;
  return withDataDir("teams-concurrent", undefined, async (dataDir) => {
    const host = new Host({ dataDir, agents: { ConcurrentBench }, hibernateAfterMs: 3_600_000 });
    try {
      const namespace = host.env.ConcurrentBench as AgentNamespace<ConcurrentBench>;
      const stubs = await Promise.all(Array.from({ length: agents }, (_, a) => getAgentByName(namespace, `agent-${a}`)));
      await Promise.all(stubs.map((stub) => stub.ping()));
      gate = Promise.withResolvers<void>();
      atGate = completed = 0;
      const before = memory();
      let t = performance.now();
      await Promise.all(stubs.flatMap((stub, a) => Array.from({ length: perAgent }, (_, i) => stub.ask(`a${a}-r${i}`))));
      const startMs = performance.now() - t;
      await waitFor(() => atGate === RUNS, "every run at its first step");
      const inFlight = memory();
      const cpu = process.cpuUsage();
      t = performance.now();
      gate.resolve();
      await waitFor(() => completed === RUNS, "every run to complete");
      const runMs = performance.now() - t;
      const { user, system } = process.cpuUsage(cpu);
      const cpuPerRunMs = (user + system) / 1000 / RUNS;
      const heapKb = (inFlight.heapUsed - before.heapUsed) / 1024 / RUNS;
      const rssKb = (inFlight.rss - before.rss) / 1024 / RUNS;
      const label = `${thousands(RUNS)} concurrent runs of 5 demo-model steps, ${spreadOf(agents)}`;
      log(`${spreadOf(agents)}: started in ${startMs.toFixed(0)} ms, ran in ${runMs.toFixed(0)} ms (CPU ${cpuPerRunMs.toFixed(2)} ms per run); heap ${heapKb.toFixed(1)} KB, RSS ${rssKb.toFixed(1)} KB per run in flight`);
      return [
        {
          bench: BENCH,
          metric: `${label}: runs / s`,
          value: (RUNS / runMs) * 1000,
          unit: "/s",
          note:
            `${((RUNS * 5 * 1000) / runMs).toFixed(0)} steps/s, ${cpuPerRunMs.toFixed(2)} ms CPU per run; from all ${thousands(RUNS)} in flight to all completed (disk, relaxed); ` +
            `starting them: ${startMs.toFixed(0)} ms (${((RUNS / startMs) * 1000).toFixed(0)} starts/s, one RPC each, durable on return)`,
        },
        {
          bench: BENCH,
          metric: `${label}: memory per run in flight`,
          value: heapKb,
          unit: "KB heap",
          note: `RSS ${rssKb.toFixed(1)} KB per run; after a full GC, ${thousands(RUNS)} runs waiting in their first step vs. the agents alone`,
        },
      ];
    } finally {
      gate.resolve();
      await host.close();
    }
  });
}

async function concurrent(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const agents of [100, 1]) rows.push(...(await concurrentRuns(agents)));
  return rows;
}

// ── 4. resume after kill -9 ─────────────────────────────────────────────────────────────────────

const CHILD = fileURLToPath(new URL("./teams-child.ts", import.meta.url));

/** Forks bench/teams-child.ts; `reply(type)` resolves with its first message of that type. */
function startChild(args: string[]) {
  const child = fork(CHILD, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  const exited = new Promise<string | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  const reply = <T>(type: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`teams-child.ts sent no "${type}" within ${ms} ms`)), ms);
      child.on("message", (message: { type: string }) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        resolve(message as T);
      });
      void exited.then((how) => reject(new Error(`teams-child.ts exited (${String(how)}) before sending "${type}"`)));
    });
  return { child, reply, exited };
}

async function resumeAfterKill(agents: number, wake: "request" | "self"): Promise<Row> {
  return withDataDir("teams-resume", undefined, async (dataDir) => {
    const counts = [String(agents), String(RUNS / agents)];
    const first = startChild([dataDir, "1", ...counts]);
    const blocked = await first.reply<BlockedReport>("blocked", 120_000);
    first.child.kill("SIGKILL");
    if ((await first.exited) !== "SIGKILL") throw new Error("the first process did not end by SIGKILL");
    const second = startChild([dataDir, "2", ...counts, wake]);
    const { report } = await second.reply<{ report: ResumeReport }>("report", 120_000);
    await second.exited;

    // Per run, calls before + after the kill: a and b once before; c cut short before and once after; d, e once after.
    const problems: string[] = [];
    if (blocked.runIds.length !== RUNS) problems.push(`${blocked.runIds.length} runs in flight at the kill`);
    for (const id of blocked.runIds) {
      const seen = ["a", "b", "c", "d", "e"].map((m) => `${blocked.calls[`${m} ${id}`] ?? 0}+${report.calls[`${m} ${id}`] ?? 0}`).join(" ");
      if (seen !== "1+0 1+0 1+1 0+1 0+1") problems.push(`${id} (a b c d e): ${seen}`);
    }
    if (report.byStatus.completed !== RUNS || report.rightOutput !== RUNS) problems.push(`statuses ${JSON.stringify(report.byStatus)}, ${report.rightOutput} right outputs`);
    if (problems.length > 0) throw new Error(`resume after kill -9 went wrong: ${problems.slice(0, 5).join("; ")}`);

    const running = report.allRunningMs - report.hostMs;
    const done = report.allDoneMs - report.hostMs;
    const how = wake === "request" ? "every agent called once at restart" : `host wakes the agents (keepAliveIntervalMs ${report.keepAliveMs} ms)`;
    log(`resume, ${spreadOf(agents)}, ${wake}: process start → Host ${report.hostMs.toFixed(0)} ms, all running again +${running.toFixed(0)} ms, all completed +${done.toFixed(0)} ms`);
    return {
      bench: BENCH,
      metric: `resume after kill -9, ${thousands(RUNS)} runs in flight (${spreadOf(agents)}), ${how}: until all run again`,
      value: running,
      unit: "ms",
      note: `from the Host's construction (${report.hostMs.toFixed(0)} ms after process start); all completed after ${done.toFixed(0)} ms; no finished step ran twice (5 code steps, killed in step 3; disk, relaxed)`,
    };
  });
}

async function resume(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const agents of [100, 1]) for (const wake of ["request", "self"] as const) rows.push(await resumeAfterKill(agents, wake));
  return rows;
}

const parts: Record<string, () => Promise<Row[]>> = { overhead, finish, concurrent, resume };
const rows: Row[] = [];
for (const [name, part] of Object.entries(parts)) if (!ONLY || ONLY.includes(name)) rows.push(...(await part()));
emit(rows);
