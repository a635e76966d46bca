/**
 * In-process cost of new agents: `count` POSTs to never-seen names through the host (no HTTP server),
 * `concurrency` at a time, observability off. Prints CPU and wall per agent; run with `--cpu-prof` to
 * see where a new agent's time goes.
 *
 *   node --cpu-prof bench/lib/create-profile.ts [count] [concurrency] [dir]
 */
import { Host } from "../../dist/index.js";
import { whenFilesSettled } from "../../dist/storage/settle.js";
import { Counter } from "./agents.ts";
import { removeDir, tempDataDir } from "./common.ts";

const count = Number(process.argv[2] ?? 5_000);
const concurrency = Number(process.argv[3] ?? 16);
const dataDir = tempDataDir("create-profile", process.argv[4]);
const host = new Host({ dataDir, agents: { Counter } });
let next = 0;
async function worker(): Promise<void> {
  while (next < count) {
    const name = `fresh-${next++}`;
    const response = await host.request("Counter", name, new Request("http://agent/", { method: "POST", body: "{}" }));
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    await response.text();
  }
}
const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(`${count} new agents: ${(count / (wallMs / 1000)).toFixed(0)}/s, CPU ${((used.user + used.system) / count).toFixed(0)} µs each (user ${(used.user / count).toFixed(0)}, system ${(used.system / count).toFixed(0)})`);
await host.close();
await whenFilesSettled();
removeDir(dataDir);
