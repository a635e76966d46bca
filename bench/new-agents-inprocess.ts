/**
 * New agents without sockets: `host.request` POSTs to never-seen names, 16 at a time, so each one
 * creates an agent's file (from the file pool once a burst started it, decision 0024), runs onStart
 * and the POST's setState + INSERT. Prints the rate and the CPU per agent, of the whole process and of
 * the event loop's thread alone (the pool's maker runs on a thread of its own).
 *
 *   npm run build && npx node bench/new-agents-inprocess.ts [--agents 2000] [--dir /tmp]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../dist/index.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { Counter } from "./lib/agents.ts";
import { flag } from "./lib/common.ts";

const AGENTS = Number(flag("agents") ?? 2_000);
const PARALLEL = 16;
const dataDir = mkdtempSync(join(flag("dir") ?? tmpdir(), "hearth-new-agents-"));
const host = new Host({ dataDir, agents: { Counter } });
try {
  const cpu = process.cpuUsage();
  const thread = process.threadCpuUsage();
  const start = performance.now();
  for (let next = 0; next < AGENTS; ) {
    const batch: Array<Promise<string>> = [];
    for (; batch.length < PARALLEL && next < AGENTS; next++) {
      const name = `new-${next}`;
      batch.push(host.request("Counter", name, new Request(`http://bench/agents/counter/${name}`, { method: "POST", body: "{}" })).then((response) => response.text()));
    }
    await Promise.all(batch);
  }
  const seconds = (performance.now() - start) / 1000;
  const all = process.cpuUsage(cpu);
  const own = process.threadCpuUsage(thread);
  const perAgent = (usage: { user: number; system: number }) => `${((usage.user + usage.system) / AGENTS / 1000).toFixed(2)} ms (system ${(usage.system / AGENTS / 1000).toFixed(2)})`;
  console.log(`${AGENTS} new agents in ${seconds.toFixed(2)} s: ${Math.round(AGENTS / seconds)}/s; CPU per agent ${perAgent(all)}, on the event loop ${perAgent(own)}`);
} finally {
  await host.close();
  await whenFilesSettled();
  rmSync(dataDir, { recursive: true, force: true });
}
