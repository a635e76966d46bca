/**
 * Benchmark 5b: create and hibernate 100,000 agents in one process. maxLiveAgents (1,000) bounds
 * memory and open files: each new agent past the cap makes the host hibernate the least recently
 * used one. Every agent gets a state; afterwards a sample of agents is woken and their state checked.
 *
 * Bounded to ~18 s in the default suite (reports how many it got through); `--full` runs all of
 * them. `--agents N` changes the count, `--dir disk|shm` the data dir (default: tmpfs if present).
 */
import { readdirSync } from "node:fs";
import { Host, getAgentByName, type AgentNamespace } from "../dist/index.js";
import { unsettledCount, whenFilesSettled } from "../dist/storage/settle.js";
import { Sleeper } from "./lib/agents.ts";
import { SHM_DIR, emit, flag, hasFlag, log, nextTurn, shmAvailable, withDataDir, type Row } from "./lib/common.ts";

const TARGET = Number(flag("agents") ?? 100_000);
const FULL = hasFlag("full");
const TIME_LIMIT_S = FULL ? Number.POSITIVE_INFINITY : Number(flag("seconds") ?? 18);
const MAX_LIVE = 1_000;
const SAMPLE = 200;

const dirChoice = flag("dir") ?? (shmAvailable() ? "shm" : "disk");
const base = dirChoice === "shm" ? SHM_DIR : undefined;
const where = dirChoice === "shm" ? "tmpfs (/dev/shm)" : "disk (os.tmpdir)";

function countFiles(dir: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".sqlite")) count++;
  }
  return count;
}

const rows: Row[] = await withDataDir("many", base, async (dataDir) => {
  const host = new Host({ dataDir, agents: { Sleeper }, hibernateAfterMs: 3_600_000, maxLiveAgents: MAX_LIVE });
  const ns = host.env.Sleeper as AgentNamespace<Sleeper>;
  let created = 0;
  let failures = 0;
  let maxFds = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = start + TIME_LIMIT_S * 1000;
  try {
    while (created < TARGET && performance.now() < deadline) {
      try {
        const n = await (await getAgentByName(ns, `agent-${created}`)).setup(created);
        if (n !== created) failures++;
      } catch (error) {
        failures++;
        if (failures <= 3) log(`agent-${created} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      created++;
      await nextTurn();
      if (created % 5_000 === 0) {
        const fds = readdirSync("/proc/self/fd").length;
        maxFds = Math.max(maxFds, fds);
        (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: heap figures without garbage
        const memory = process.memoryUsage();
        log(
          `${created} agents, ${((performance.now() - start) / 1000).toFixed(1)} s, RSS ${(memory.rss / 2 ** 20).toFixed(0)} MB, ` +
            `JS heap ${(memory.heapUsed / 2 ** 20).toFixed(0)} MB, ${fds} fds, live ${host.stats.liveAgents}`,
        );
      }
    }
    host.hibernateIdleAgents();
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1000 / Math.max(created, 1);
    // Files created without fsync are made durable in the background: how long until all are.
    const unsettled = unsettledCount();
    await whenFilesSettled();
    const settledSeconds = (performance.now() - start) / 1000;
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const peakMb = process.resourceUsage().maxRSS / 1024;
    const files = countFiles(dataDir);

    // Wake a sample and check the state each one was given survived hibernation.
    let wrong = 0;
    for (let k = 0; k < SAMPLE; k++) {
      const i = Math.floor((k * created) / SAMPLE);
      const stub = await getAgentByName(ns, `agent-${i}`);
      if ((await stub.read()) !== i) wrong++;
      await nextTurn();
    }
    const sampleNote = `${SAMPLE} woken afterwards, ${wrong} wrong`;
    const reached = created >= TARGET;
    log(`${created} agents in ${seconds.toFixed(1)} s, ${failures} failures, ${files} files, RSS ${rssMb.toFixed(0)} MB (peak ${peakMb.toFixed(0)} MB)`);
    const scope = reached ? `all ${TARGET.toLocaleString("en-US")}` : `stopped at the ${TIME_LIMIT_S} s bound (run with --full for all ${TARGET.toLocaleString("en-US")})`;
    return [
      {
        bench: "5 many-agents",
        metric: `agents created + hibernated in one process (maxLiveAgents ${MAX_LIVE.toLocaleString("en-US")}), ${where}`,
        value: created,
        unit: "agents",
        goal: reached || FULL ? { op: ">=", value: TARGET } : undefined,
        note: `${scope}; ${failures} failures; ${files.toLocaleString("en-US")} files on disk; ${sampleNote}`,
      },
      {
        bench: "5 many-agents",
        metric: "time to create + hibernate them",
        value: seconds,
        unit: "s",
        note: `${Math.round(created / seconds).toLocaleString("en-US")} agents/s, sequential; CPU ${cpuMs.toFixed(3)} ms per agent (user ${(cpu.user / 1000 / Math.max(created, 1)).toFixed(3)} + system ${(cpu.system / 1000 / Math.max(created, 1)).toFixed(3)})`,
      },
      {
        bench: "5 many-agents",
        metric: "time until every file is durable (background settle done)",
        value: settledSeconds,
        unit: "s",
        note: `${unsettled.toLocaleString("en-US")} files still settling when the last agent hibernated`,
      },
      {
        bench: "5 many-agents",
        metric: "final RSS",
        value: rssMb,
        unit: "MB",
        note: `peak ${peakMb.toFixed(0)} MB; at most ${maxFds || readdirSync("/proc/self/fd").length} open files`,
      },
    ];
  } finally {
    await host.close();
  }
});
emit(rows);
