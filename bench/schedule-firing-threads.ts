/**
 * Firing accuracy with threads: the schedule-firing workload (1,000 agents, 10 one-off schedules each,
 * the 10,000 due times spread evenly over one second) on `hearth start --threads 1` and `--threads 2`,
 * observability off as in the in-process figure. The agents are live (made by the arming requests,
 * idle for the ~2 s lead before the window); each run records its lateness in its agent's table, read
 * over HTTP once the server is idle again. Server CPU per run is the process's CPU from the window's
 * start until then. Data on disk and on tmpfs (`--dir disk|shm|both`).
 *
 * `--mode hibernated` (or `both`) runs the server with `hibernateAfterMs: 1000` (a hearth.config.ts in
 * its working directory): the agents leave memory during the lead, as the in-process benchmark's
 * hibernated round has them, so waking them (ahead of their runs, or at them) is part of the lateness.
 *
 *   npm run build && npx node bench/schedule-firing-threads.ts [--agents 1000] [--per-agent 10] [--threads 1,2] [--mode live|hibernated|both]
 */
import { BENCH_DIR, SHM_DIR, emit, flag, log, percentile, shmAvailable, sleep, tempDataDir, removeDir, type Row } from "./lib/common.ts";
import { firingPlan } from "./lib/time-agents.ts";
import { startEntry, usageOf } from "./lib/do-server.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const AGENTS = Number(flag("agents") ?? 1_000);
const PER_AGENT = Number(flag("per-agent") ?? 10);
const THREADS = (flag("threads") ?? "1,2").split(",").map(Number);
const WINDOW_MS = 1_000;
const LEAD_MS = 2_000;
/** Arming requests in flight at once. */
const PARALLEL = 16;

/** Runs `work` over `items`, `PARALLEL` at a time. */
async function pooled<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

type Mode = "live" | "hibernated";
/** Idle agents leave memory after this in the hibernated mode: well inside the lead before the window. */
const HIBERNATE_AFTER_MS = 1_000;

/** A working directory whose hearth.config.ts has idle agents hibernate after {@link HIBERNATE_AFTER_MS}. */
function hibernatingProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-firing-hibernated-"));
  writeFileSync(join(dir, "hearth.config.ts"), `export default { hibernateAfterMs: ${HIBERNATE_AFTER_MS} };\n`);
  return dir;
}

async function measure(threads: number, where: string, base: string | undefined, mode: Mode): Promise<Row> {
  const dataDir = tempDataDir(`firing-threads-${threads}`, base);
  const project = mode === "hibernated" ? hibernatingProject() : undefined;
  const server = await startEntry(join(BENCH_DIR, "lib", "timer-app.ts"), threads, dataDir, "/agents/alarm/warm", ["--no-traces", "--no-metrics"], project);
  try {
    const names = Array.from({ length: AGENTS }, (_, i) => `alarm-${i}`);
    const total = AGENTS * PER_AGENT;
    // A rehearsal arms nothing but times the arming requests, so the window can start right after.
    const rehearsal = performance.now();
    await pooled(names, async (name) => void (await (await fetch(`${server.url}/agents/alarm/${name}`, { method: "POST", body: "[]" })).text()));
    const armMs = performance.now() - rehearsal;
    const start = Date.now() + armMs * 2 + LEAD_MS;
    const slots = firingPlan(start, AGENTS, PER_AGENT, WINDOW_MS);
    await pooled(names.map((name, a) => [name, a] as const), async ([name, a]) => {
      const response = await fetch(`${server.url}/agents/alarm/${name}`, { method: "POST", body: JSON.stringify(slots[a]) });
      if (!response.ok) throw new Error(`arming ${name}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    });
    const gap = start - Date.now();
    if (gap < 200) throw new Error(`arming ran into the window (${gap} ms before it)`);
    await sleep(gap - 1);
    const before = usageOf(server.pid);
    await sleep(WINDOW_MS);
    // Reading while runs are still due would slow them: wait until the server is idle (under 2% of a
    // core for 300 ms), then read every agent's runs once.
    let after = usageOf(server.pid);
    for (let idle = 0, deadline = Date.now() + 60_000; idle < 3 && Date.now() < deadline; ) {
      await sleep(100);
      const now = usageOf(server.pid);
      idle = now && after && now.cpuSeconds - after.cpuSeconds < 0.002 ? idle + 1 : 0;
      if (idle === 0) after = now;
    }
    const lateness: number[] = [];
    await pooled(names, async (name) => {
      for (const row of (await (await fetch(`${server.url}/agents/alarm/${name}`)).json()) as Array<{ lateness: number }>) lateness.push(row.lateness);
    });
    if (lateness.length !== total) throw new Error(`${lateness.length} of ${total} schedules ran`);
    const sorted = lateness.sort((x, y) => x - y);
    const cpuUs = before && after ? ((after.cpuSeconds - before.cpuSeconds) * 1e6) / total : Number.NaN;
    const p = (q: number) => percentile(sorted, q).toFixed(1);
    log(`${where}, ${mode}, --threads ${threads}: lateness p50 ${p(50)} p90 ${p(90)} p99 ${p(99)} max ${p(100)} ms; server CPU ~${cpuUs.toFixed(0)} µs per run`);
    return {
      bench: "schedule-firing-threads",
      metric: `lateness p99, ${total.toLocaleString("en-US")} schedules due within 1 s over ${AGENTS.toLocaleString("en-US")} ${mode === "live" ? "live agents" : `agents hibernated during the lead (hibernateAfterMs ${HIBERNATE_AFTER_MS})`}, hearth start --threads ${threads}, ${where}`,
      value: percentile(sorted, 99),
      unit: "ms",
      goal: { op: "<=", value: 10 },
      note: `p50 ${p(50)} / p90 ${p(90)} / max ${p(100)} ms; all ran once; server CPU ~${cpuUs.toFixed(0)} µs per run (from the window's start until the server went idle); observability off`,
    };
  } finally {
    await server.close();
    removeDir(dataDir);
    if (project !== undefined) removeDir(project);
  }
}

const dirs = flag("dir") ?? "both";
const modeFlag = flag("mode") ?? "both";
if (!["live", "hibernated", "both"].includes(modeFlag)) throw new Error(`--mode: live, hibernated or both, got ${modeFlag}`);
const modes: Mode[] = modeFlag === "both" ? ["live", "hibernated"] : [modeFlag as Mode];
const out: Row[] = [];
for (const mode of modes) {
  for (const threads of THREADS) {
    if (dirs !== "shm") out.push(await measure(threads, "disk (os.tmpdir)", undefined, mode));
    if (dirs !== "disk" && shmAvailable()) out.push(await measure(threads, "tmpfs (/dev/shm)", SHM_DIR, mode));
  }
}
emit(out);
