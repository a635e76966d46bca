/**
 * New agents without sockets: `host.request` POSTs to never-seen names, 16 at a time, so each one
 * creates an agent's file (from the file pool once a burst started it, decision 0024), runs onStart
 * and the POST's setState + INSERT. Prints the rate and the CPU per agent, of the whole process and of
 * the event loop's thread alone (the pool's maker runs on a thread of its own).
 *
 *   npm run build && npx node bench/new-agents-inprocess.ts [--agents 2000] [--dir /tmp]
 */
import { Host } from "../dist/index.js";
import { Counter, postToCounters } from "./lib/agents.ts";
import { flag, withDataDir } from "./lib/common.ts";

const AGENTS = Number(flag("agents") ?? 2_000);
const PARALLEL = 16;

await withDataDir("new-agents-inprocess", flag("dir"), async (dataDir) => {
  const host = new Host({ dataDir, agents: { Counter } });
  try {
    const cpu = process.cpuUsage();
    const thread = process.threadCpuUsage();
    const start = performance.now();
    await postToCounters(host, AGENTS, (i) => `new-${i}`, PARALLEL);
    const seconds = (performance.now() - start) / 1000;
    const perAgent = (usage: { user: number; system: number }) => `${((usage.user + usage.system) / AGENTS / 1000).toFixed(2)} ms (system ${(usage.system / AGENTS / 1000).toFixed(2)})`;
    console.log(`${AGENTS} new agents in ${seconds.toFixed(2)} s: ${Math.round(AGENTS / seconds)}/s; CPU per agent ${perAgent(process.cpuUsage(cpu))}, on the event loop ${perAgent(process.threadCpuUsage(thread))}`);
  } finally {
    await host.close(); // waits until the files it made without fsync are settled
  }
});
