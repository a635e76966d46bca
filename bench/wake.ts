/**
 * Benchmark 3: waking a hibernated agent, host side, in-process (no HTTP). N agents get a state,
 * all hibernate (database closed, instance dropped), then each is woken by one trivial call:
 *   t0 = hrtime; stub = await getAgentByName(env.Sleeper, name); await stub.ping(); t = hrtime - t0
 * Several rounds (hibernate all, wake all) give N × rounds samples. The same call on a live agent is
 * the baseline. Runs on disk and on tmpfs, next to raw SQLite reopen and empty-file-create costs.
 */
import { Host, getAgentByName, type AgentNamespace } from "../dist/index.js";
import { Sleeper, timeStartUps } from "./lib/agents.ts";
import { SHM_DIR, emit, log, msSince, nextTurn, percentile, shmAvailable, withDataDir, type Row } from "./lib/common.ts";
import { measureRawCosts } from "./lib/raw-sqlite.ts";

const AGENTS = 300;
const ROUNDS = 5;

interface WakeFigures {
  wake: number[];
  live: number[];
  /** CPU (user + system) per wake, µs, mean over all wakes. */
  wakeCpuUs: number;
  /** The agent's start-up alone (capability layers and onStart), ms per wake. */
  startUp: number[];
  /** ms per agent to hibernate agents that just wrote their state (round 0). */
  hibernateAfterWrite: number;
}

async function measure(base: string | undefined, label: string): Promise<WakeFigures> {
  return withDataDir(`wake-${label}`, base, async (dataDir) => {
    const host = new Host({ dataDir, agents: { Sleeper }, hibernateAfterMs: 3_600_000, maxLiveAgents: AGENTS * 2 });
    const ns = host.env.Sleeper as AgentNamespace<Sleeper>;
    const names = Array.from({ length: AGENTS }, (_, i) => `sleeper-${i}`);
    try {
      for (const [i, name] of names.entries()) {
        await (await getAgentByName(ns, name)).setup(i);
        await nextTurn();
      }
      const wake: number[] = [];
      const live: number[] = [];
      const startUp = timeStartUps(Sleeper);
      let wakeCpu = 0;
      let hibernateAfterWrite = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const start = process.hrtime.bigint();
        const hibernated = host.hibernateIdleAgents();
        if (round === 0) hibernateAfterWrite = msSince(start) / AGENTS;
        if (hibernated !== AGENTS || host.stats.liveAgents !== 0) {
          throw new Error(`expected ${AGENTS} agents to hibernate, got ${hibernated} (live ${host.stats.liveAgents})`);
        }
        for (const name of names) {
          const cpu = process.cpuUsage();
          const start = process.hrtime.bigint();
          const stub = await getAgentByName(ns, name);
          await stub.ping();
          wake.push(msSince(start));
          const used = process.cpuUsage(cpu);
          wakeCpu += used.user + used.system;
          await nextTurn();
        }
        // Same call, agent already in memory: what a call costs without the wake.
        for (const name of names) {
          const start = process.hrtime.bigint();
          const stub = await getAgentByName(ns, name);
          await stub.ping();
          live.push(msSince(start));
          await nextTurn();
        }
      }
      return { wake, live, hibernateAfterWrite, wakeCpuUs: wakeCpu / wake.length, startUp: startUp.stop() };
    } finally {
      await host.close();
    }
  });
}

function rows(figures: WakeFigures, where: string, goal: boolean): Row[] {
  const wake = [...figures.wake].sort((a, b) => a - b);
  const live = [...figures.live].sort((a, b) => a - b);
  const samples = `${AGENTS} agents × ${ROUNDS} rounds = ${wake.length} wakes`;
  log(`${where}: wake p50 ${percentile(wake, 50).toFixed(3)} p99 ${percentile(wake, 99).toFixed(3)}; live p50 ${percentile(live, 50).toFixed(3)}`);
  return [
    {
      bench: "3 wake",
      metric: `wake of a hibernated agent + ping(), p50, ${where}`,
      value: percentile(wake, 50),
      unit: "ms",
      goal: goal ? { op: "<=", value: 0.3 } : undefined,
      note: samples,
    },
    { bench: "3 wake", metric: `wake of a hibernated agent + ping(), p99, ${where}`, value: percentile(wake, 99), unit: "ms", note: samples },
    {
      bench: "3 wake",
      metric: `CPU per wake (user + system), mean, ${where}`,
      value: figures.wakeCpuUs / 1000,
      unit: "ms",
      note: `of which the agent's start-up (capability layers, onStart) p50 ${percentile([...figures.startUp].sort((a, b) => a - b), 50).toFixed(3)} ms wall`,
    },
    {
      bench: "3 wake",
      metric: `hibernate an agent that has written (commit, checkpoint, close), mean, ${where}`,
      value: figures.hibernateAfterWrite,
      unit: "ms",
      note: "not part of the wake; for scale",
    },
    {
      bench: "3 wake",
      metric: `same call to a live agent (baseline), p50, ${where}`,
      value: percentile(live, 50),
      unit: "ms",
      note: `p99 ${percentile(live, 99).toFixed(3)} ms`,
    },
  ];
}

function rawRows(base: string | undefined, where: string): Row[] {
  const raw = measureRawCosts(base, 200);
  return [
    {
      bench: "3 wake",
      metric: `raw SQLite, no Hearth: open + first read of an agent file, p50, ${where}`,
      value: raw.reopenMs,
      unit: "ms",
      note: "same pragmas and reads as Hearth's open; the first read recreates the -wal file",
    },
    {
      bench: "3 wake",
      metric: `raw SQLite, no Hearth: the same with the -wal file kept, p50, ${where}`,
      value: raw.reopenKeptWalMs,
      unit: "ms",
      note: "what open would cost if the -wal file survived close",
    },
    {
      bench: "3 wake",
      metric: `raw file system: create one empty file, ${where}`,
      value: raw.emptyFileMs,
      unit: "ms",
      note: "SQLite deletes the -wal file at close and creates it again at wake",
    },
  ];
}

const out: Row[] = [];
out.push(...rows(await measure(undefined, "disk"), "disk (os.tmpdir)", true));
out.push(...rawRows(undefined, "disk"));
if (shmAvailable()) {
  out.push(...rows(await measure(SHM_DIR, "shm"), "tmpfs (/dev/shm)", true));
  out.push(...rawRows(SHM_DIR, "tmpfs"));
}
emit(out);
