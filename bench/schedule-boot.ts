/**
 * Benchmark 7: booting a host over a large backlog. 100,000 hibernated agents with 10 pending
 * schedules each (1,000,000 in all, due 7–30 days ahead) in a data directory on disk, built once and
 * kept in bench/.data/boot-fixture (gitignored; see lib/boot-fixture.ts). Before each boot, 100 of the
 * agents get their first schedule a second overdue (file and index entry). Each boot runs in a fresh
 * process (lib/boot-child.ts) and measures:
 *  - the time from `new Host({ dataDir, agents })` until the constructor returns, the due index opened
 *    and its one timer armed; no agent may be opened (`host.stats.liveAgents` 0);
 *  - RSS and JS heap before and after;
 *  - that exactly the 100 overdue agents are woken and their callbacks run once each.
 * Three boots; `--agents N` for a smaller fixture, `--rebuild` to build it again.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, emit, flag, hasFlag, log, runChild, type Row } from "./lib/common.ts";
import type { BootInput, BootResult } from "./lib/boot-child.ts";
import { agentName, buildFixture, existingFixture, makeOverdue, type FixtureInfo } from "./lib/boot-fixture.ts";

const AGENTS = Number(flag("agents") ?? 100_000);
const PER_AGENT = 10;
const OVERDUE = Math.min(100, AGENTS);
const BOOTS = 3;
const GOAL_BOOT_MS = 2_000;
const dir = join(BENCH_DIR, ".data", AGENTS === 100_000 ? "boot-fixture" : `boot-fixture-${AGENTS}`);

const n = (value: number) => value.toLocaleString("en-US");
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

let info: FixtureInfo | undefined = hasFlag("rebuild") ? undefined : existingFixture(dir, AGENTS, PER_AGENT);
const reused = info !== undefined;
if (info === undefined) {
  log(`building the fixture: ${n(AGENTS)} agents × ${PER_AGENT} schedules in ${dir} …`);
  info = await buildFixture(dir, AGENTS, PER_AGENT);
}
const build = info.buildSeconds;
const buildTotal = build.template + build.copies + build.index;
log(
  `fixture ${reused ? `reused (built ${new Date(info.builtAt).toISOString()})` : "built"}: ${buildTotal.toFixed(1)} s ` +
    `(template through the Host ${build.template.toFixed(2)} s, ${n(AGENTS - 1)} copies ${build.copies.toFixed(1)} s, index ${build.index.toFixed(2)} s)`,
);

const overdue = Array.from({ length: OVERDUE }, (_, k) => Math.floor(((k + 0.5) * AGENTS) / OVERDUE));
const boots: BootResult[] = [];
for (let boot = 0; boot < BOOTS; boot++) {
  makeOverdue(dir, info, overdue);
  const input: BootInput = { dataDir: dir, overdue: overdue.map(agentName) };
  const result = await runChild<BootResult>("boot-child.ts", input, 120_000);
  const problems = [
    result.liveAtBoot !== 0 && `${result.liveAtBoot} agents were live right after the constructor`,
    result.runs !== OVERDUE && `${result.runs} callbacks ran, expected ${OVERDUE}`,
    result.distinctAgents !== OVERDUE && `${result.distinctAgents} distinct agents ran, expected ${OVERDUE}`,
    result.unexpected.length > 0 && `agents that were not due ran: ${result.unexpected.slice(0, 5).join(", ")}`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`boot ${boot + 1}: ${problems.join("; ")}`);
  log(
    `boot ${boot + 1}: constructor ${result.bootMs.toFixed(1)} ms; RSS ${mb(result.before.rss)} → ${mb(result.afterBoot.rss)} MB; ` +
      `${result.runs} overdue callbacks ${result.firstRunMs.toFixed(0)}–${result.allRunsMs.toFixed(0)} ms after boot; live after ${result.liveAfter}`,
  );
  boots.push(result);
}

const median = (pick: (r: BootResult) => number) => boots.map(pick).sort((a, b) => a - b)[Math.floor(boots.length / 2)]!;
const spread = (pick: (r: BootResult) => number, digits: number) =>
  `${Math.min(...boots.map(pick)).toFixed(digits)}–${Math.max(...boots.map(pick)).toFixed(digits)}`;
const indexMb = mb(statSync(join(dir, "host.sqlite")).size);
const scale = `${n(AGENTS * PER_AGENT)} pending schedules over ${n(AGENTS)} hibernated agents`;
const last = boots.at(-1)!;
const gcNote = last.gc ? "after a full GC" : "no GC (run with --expose-gc)";

const rows: Row[] = [
  {
    bench: "7 schedule-boot",
    metric: `boot: new Host() until it returns with the timer armed, ${scale}, disk`,
    value: median((r) => r.bootMs),
    unit: "ms",
    goal: { op: "<=", value: GOAL_BOOT_MS },
    note: `median of ${BOOTS} boots, each a fresh process (${spread((r) => r.bootMs, 1)} ms); 0 agents opened; due index ${indexMb} MB; page cache warm`,
  },
  {
    bench: "7 schedule-boot",
    metric: "RSS added by the boot",
    value: median((r) => r.afterBoot.rss - r.before.rss) / 2 ** 20,
    unit: "MB",
    note:
      `RSS ${mb(last.before.rss)} MB before (${gcNote}), ${mb(last.afterBoot.rss)} MB after; JS heap ${mb(last.before.heapUsed)} → ` +
      `${mb(last.afterBoot.heapUsed)} MB; after the overdue runs and a GC: RSS ${mb(last.afterRuns.rss)} MB, heap ${mb(last.afterRuns.heapUsed)} MB`,
  },
  {
    bench: "7 schedule-boot",
    metric: `agents woken for overdue schedules (${OVERDUE} made overdue before boot)`,
    value: median((r) => r.distinctAgents),
    unit: "agents",
    note:
      `${last.runs} callbacks, each of those agents once, no other agent; first ${spread((r) => r.firstRunMs, 0)} ms, last ` +
      `${spread((r) => r.allRunsMs, 0)} ms after the constructor returned; live agents afterwards ${spread((r) => r.liveAfter, 0)}`,
  },
  {
    bench: "7 schedule-boot",
    metric: `fixture build (${n(AGENTS)} agent files + index), ${reused ? "earlier run" : "this run"}`,
    value: buildTotal,
    unit: "s",
    note: `template agent through the Host ${build.template.toFixed(2)} s; ${n(AGENTS - 1)} copies with node:sqlite ${build.copies.toFixed(1)} s (${((build.copies * 1000) / (AGENTS - 1)).toFixed(2)} ms each); index rows ${build.index.toFixed(2)} s; not part of the boot`,
  },
];
emit(rows);
