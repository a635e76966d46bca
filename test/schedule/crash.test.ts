/**
 * Crash safety of storage and durable time: a child process serves agents that append to their
 * tables and schedule work under load; it is killed with SIGKILL at random moments, restarted on the
 * same data directory each time, and at the end nothing acknowledged may be missing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild as startProgram, type Child } from "../support/child.ts";
import type { Report } from "./fixtures/crash-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));

/**
 * Kill rounds: 5 in the suite; HEARTH_SOAK=1 runs the long soak (40). Every round goes the same way
 * (start on the data the last kill left, load, kill at a random moment), so five already stack
 * recoveries on recoveries; more rounds only draw more kill moments, which the long soak is for.
 */
const ROUNDS = process.env.HEARTH_SOAK === "1" ? 40 : 5;
const AGENTS = Array.from({ length: 8 }, (_, i) => `w${i}`);
const LOOPS = 6;
const LOAD_MS = { min: 80, max: 600 };
const MAX_DELAY_S = 1.5;
const FINAL_DEADLINE_MS = 30_000;

const dataDir = mkdtempSync(join(tmpdir(), "hearth-crash-"));

afterAll(() => {
  killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the child on the data directory and waits for its READY line. */
function startChild(generation: number): Promise<Child> {
  return startProgram(CHILD, [dataDir, String(generation)]);
}

/** What the parent saw acknowledged (a complete 200 response: the child sends it after the commit). */
const acked = {
  appends: new Map<string, Set<string>>(AGENTS.map((agent) => [agent, new Set<string>()])),
  schedules: new Map<string, Set<string>>(AGENTS.map((agent) => [agent, new Set<string>()])),
};
const counts = { requests: 0, failed: 0 };

/** Requests from `loops` concurrent loops until `until` resolves; failures (the kill) are expected. */
async function load(url: string, round: number, until: Promise<void>): Promise<void> {
  let running = true;
  void until.then(() => {
    running = false;
  });
  let seq = 0;
  const loop = async (loopId: number): Promise<void> => {
    while (running) {
      const agent = AGENTS[Math.floor(Math.random() * AGENTS.length)]!;
      const id = `r${round}-l${loopId}-${seq++}`;
      const append = Math.random() < 0.5;
      const target = append
        ? `${url}/agents/worker/${agent}/append?id=${id}`
        : `${url}/agents/worker/${agent}/schedule?id=${id}&delay=${(Math.random() * MAX_DELAY_S).toFixed(3)}`;
      counts.requests++;
      try {
        const response = await fetch(target, { method: "POST", signal: AbortSignal.timeout(10_000) });
        await response.text();
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        (append ? acked.appends : acked.schedules).get(agent)!.add(id);
      } catch {
        counts.failed++; // the connection died with the process: not acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)));
}

async function report(url: string, agent: string): Promise<Report> {
  const response = await fetch(`${url}/agents/worker/${agent}/report`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`report of ${agent}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as Report;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("crash safety", () => {
  it(`loses nothing acknowledged across ${ROUNDS} SIGKILLs under load`, { timeout: process.env.HEARTH_SOAK === "1" ? 900_000 : 120_000 }, async () => {
    const started = Date.now();
    const killedAfter: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const child = await startChild(round);
      const loadMs = LOAD_MS.min + Math.floor(Math.random() * (LOAD_MS.max - LOAD_MS.min));
      killedAfter.push(loadMs);
      const killed = sleep(loadMs).then(() => {
        child.proc.kill("SIGKILL");
      });
      await load(child.url, round, killed);
      const exit = await child.exited;
      expect(exit.signal, `round ${round}: the child died on its own; stderr:\n${child.stderr()}`).toBe("SIGKILL");
    }

    // A clean start: everything acknowledged must be there, every schedule must run.
    const final = await startChild(ROUNDS + 1);
    const reports = new Map<string, Report>();
    const missingRuns = (): string[] =>
      AGENTS.flatMap((agent) => [...acked.schedules.get(agent)!].filter((id) => !reports.get(agent)?.ran[id]).map((id) => `${agent}:${id}`));
    const deadline = Date.now() + FINAL_DEADLINE_MS;
    for (;;) {
      for (const agent of AGENTS) reports.set(agent, await report(final.url, agent));
      const ticking = AGENTS.every((agent) => reports.get(agent)!.ticksThisGeneration > 0);
      if ((missingRuns().length === 0 && ticking) || Date.now() > deadline) break;
      await sleep(200);
    }
    const now = Date.now();

    const stats = { appends: 0, schedules: 0, runs: 0, duplicates: 0, ticks: 0, minutes: 0, logRows: 0 };
    const problems: string[] = [];
    for (const agent of AGENTS) {
      const r = reports.get(agent)!;
      const log = new Set(r.log);
      const pending = new Map(r.pending.map((p) => [p.id, p.dueAt]));
      stats.logRows += r.log.length;
      stats.ticks += r.ticks;
      stats.minutes += r.minutes;
      for (const id of acked.appends.get(agent)!) {
        stats.appends++;
        if (!log.has(id)) problems.push(`${agent}: acknowledged append ${id} is missing`);
      }
      for (const id of acked.schedules.get(agent)!) {
        stats.schedules++;
        const runs = r.ran[id] ?? 0;
        if (runs === 0) {
          const dueAt = pending.get(id);
          if (dueAt === undefined) problems.push(`${agent}: acknowledged schedule ${id} never ran and is gone (lost)`);
          else problems.push(`${agent}: acknowledged schedule ${id} is still pending, due ${now - dueAt} ms ago`);
        }
      }
      for (const [id, runs] of Object.entries(r.ran)) {
        stats.runs += runs;
        stats.duplicates += runs - 1;
        if (pending.has(id)) problems.push(`${agent}: schedule ${id} ran ${runs}× but is still pending`);
      }
      if (r.intervals !== 1) problems.push(`${agent}: ${r.intervals} interval schedules, expected 1`);
      if (r.crons !== 1) problems.push(`${agent}: ${r.crons} cron schedules, expected 1`);
      if (r.ticksThisGeneration === 0) problems.push(`${agent}: the interval did not run after the last restart`);
    }

    console.log(
      `[crash] ${ROUNDS} SIGKILLs (after ${Math.min(...killedAfter)}-${Math.max(...killedAfter)} ms of load) + 1 clean start in ${((Date.now() - started) / 1000).toFixed(1)} s · ` +
        `${counts.requests} requests, ${counts.failed} cut off by a kill · acknowledged: ${stats.appends} appends (${stats.logRows} log rows), ` +
        `${stats.schedules} schedules · runs of one-off schedules: ${stats.runs} incl. ${stats.duplicates} duplicates · ` +
        `interval runs ${stats.ticks}, cron runs ${stats.minutes}`,
    );
    expect(problems, `stderr of the last child:\n${final.stderr()}`).toEqual([]);
    expect(stats.appends).toBeGreaterThan(0);
    expect(stats.schedules).toBeGreaterThan(0);

    final.proc.kill("SIGTERM");
    expect(await final.exited).toEqual({ code: 0, signal: null });
  });
});
