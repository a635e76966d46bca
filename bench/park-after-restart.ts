/**
 * Waking and hibernating agents a restarted server did not create: a first host creates `--agents`
 * agents (POSTs, 16 at a time) and closes; a second host on the same data dir (what a restart sees:
 * files on disk, no pool) wakes each with a POST, then hibernates them all, three rounds. Prints the
 * event loop's CPU per agent for each phase: a close that finds no -wal left by SQLite makes one, and
 * a burst of those starts the folder's file pool (decision 0024).
 *
 *   npm run build && npx node bench/park-after-restart.ts [--agents 2000] [--dir /tmp]
 */
import { Host } from "../dist/index.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { Counter, postToCounters } from "./lib/agents.ts";
import { flag, withDataDir } from "./lib/common.ts";

const AGENTS = Number(flag("agents") ?? 2_000);
const PARALLEL = 16;

const postToAll = (host: Host): Promise<void> => postToCounters(host, AGENTS, (i) => `parked-${i}`, PARALLEL);

/** Runs `work`; returns the event loop's CPU per agent (µs) and the wall time per agent (µs). */
async function timed(work: () => unknown): Promise<string> {
  const cpu = process.threadCpuUsage();
  const start = performance.now();
  await work();
  const used = process.threadCpuUsage(cpu);
  return `${Math.round((used.user + used.system) / AGENTS)} µs CPU (system ${Math.round(used.system / AGENTS)}), ${Math.round(((performance.now() - start) * 1000) / AGENTS)} µs wall`;
}

await withDataDir("park-after-restart", flag("dir"), async (dataDir) => {
  const first = new Host({ dataDir, agents: { Counter } });
  await postToAll(first);
  await first.close();
  const host = new Host({ dataDir, agents: { Counter } });
  try {
    for (let round = 1; round <= 3; round++) {
      const wake = await timed(() => postToAll(host));
      let hibernated = 0;
      const park = await timed(() => (hibernated = host.hibernateIdleAgents()));
      if (hibernated !== AGENTS) throw new Error(`expected ${AGENTS} agents to hibernate, got ${hibernated}`);
      console.log(`round ${round}, per agent: wake + POST ${wake}; hibernate ${park}`);
      await whenFilesSettled();
    }
  } finally {
    await host.close(); // waits until the files it made without fsync are settled
  }
});
