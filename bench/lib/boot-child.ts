/**
 * The measuring side of bench/schedule-boot.ts, in a fresh process so its memory figures start clean:
 * boots a Host on the fixture, then waits for the overdue agents' callbacks. Run through runChild().
 */
import { Host } from "../../dist/index.js";
import { childMain, sleep } from "./common.ts";
import { Backlog, backlogRuns } from "./time-agents.ts";

export interface BootInput {
  dataDir: string;
  /** Names of the agents whose first schedule is overdue: exactly these must be woken. */
  overdue: string[];
}

export interface Memory {
  rss: number;
  heapUsed: number;
}

export interface BootResult {
  /** ms from `new Host(...)` to the constructor's return (index opened, timer armed). */
  bootMs: number;
  /** Live agents right after the constructor returned. */
  liveAtBoot: number;
  /** With a full GC before (when --expose-gc is on). */
  before: Memory;
  /** Right after the constructor, no GC. */
  afterBoot: Memory;
  /** After the overdue runs and a full GC. */
  afterRuns: Memory;
  gc: boolean;
  /** ms from the constructor's return to the first overdue callback, and to the last one. */
  firstRunMs: number;
  allRunsMs: number;
  /** Callbacks run, distinct agents among them, and those that were not in `overdue`. */
  runs: number;
  distinctAgents: number;
  unexpected: string[];
  liveAfter: number;
  closeMs: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function memory(collect: boolean): Memory {
  if (collect) gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

childMain<BootInput, BootResult>(async ({ dataDir, overdue }) => {
  const before = memory(true);
  const start = performance.now();
  const host = new Host({ dataDir, agents: { Backlog } });
  const booted = performance.now();
  const liveAtBoot = host.stats.liveAgents;
  const afterBoot = memory(false);

  const deadline = booted + 30_000;
  while (backlogRuns.length < overdue.length && performance.now() < deadline) await sleep(5);
  await host.tasksIdle();
  const times = backlogRuns.map((run) => run.at - booted);
  await sleep(500); // anything else the host wakes, it wakes now
  await host.tasksIdle();

  const expected = new Set(overdue);
  const result: BootResult = {
    bootMs: booted - start,
    liveAtBoot,
    before,
    afterBoot,
    afterRuns: memory(true),
    gc: gc !== undefined,
    firstRunMs: Math.min(...times),
    allRunsMs: Math.max(...times),
    runs: backlogRuns.length,
    distinctAgents: new Set(backlogRuns.map((run) => run.name)).size,
    unexpected: [...new Set(backlogRuns.map((run) => run.name))].filter((name) => !expected.has(name)),
    liveAfter: host.stats.liveAgents,
    closeMs: 0,
  };
  const closeStart = performance.now();
  await host.close();
  result.closeMs = performance.now() - closeStart;
  return result;
});
