/**
 * How soon the CLI serves: `hearth dev` and `hearth start` (one thread, and two) on a one-agent project,
 * from the spawn to the banner's `ready` line, and the CPU every process of it spent by then (the
 * dev supervisor and its child, read from /proc). `--dist a,b` names builds' dist/ directories
 * (default this checkout's); runs alternate between them `--runs` times; a figure is the median.
 *
 *   npm run build && node bench/cli-startup.ts [--runs 5] [--dist /tmp/base/dist,dist]
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { usageOf } from "./lib/do-server.ts";
import { BENCH_DIR, emit, flag, log, tempDataDir, removeDir, type Row } from "./lib/common.ts";

const ROOT = join(BENCH_DIR, "..");
const DISTS = (flag("dist") ?? join(ROOT, "dist")).split(",");
const RUNS = Number(flag("runs") ?? 5);
/**
 * The project: one agent class and a fetch. It imports `agents`, which the module map points at the
 * build being run; an import of `hearth` would load this checkout's build whichever one runs it.
 */
const PROJECT = tempDataDir("cli-startup-project");
const ENTRY = join(PROJECT, "index.ts");
writeFileSync(
  ENTRY,
  `import { Agent, routeAgentRequest } from "agents";
export class Counter extends Agent<Record<string, unknown>, { count: number }> {
  initialState = { count: 0 };
  onRequest(): Response {
    this.setState({ count: this.state.count + 1 });
    return Response.json(this.state);
  }
}
export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
`,
);
const MODES = [
  { name: "hearth dev", args: ["dev"], threads: "1" },
  { name: "hearth start --threads 1", args: ["start"], threads: "1" },
  { name: "hearth start --threads 2", args: ["start"], threads: "2" },
] as const;

/** CPU ms a process and its live children have used (the dev supervisor's child is one). */
function cpuOfTree(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children
  }
  return Math.round([pid, ...children].reduce((sum, id) => sum + (usageOf(id)?.cpuSeconds ?? 0), 0) * 1000);
}

async function once(dist: string, mode: (typeof MODES)[number]): Promise<{ readyMs: number; cpuMs: number }> {
  const data = tempDataDir("cli-startup");
  const start = performance.now();
  const child = spawn(process.execPath, [join(dist, "cli", "main.js"), ...mode.args, ENTRY, "--port", "0", "--data", data], {
    env: { ...process.env, NO_COLOR: "1", HEARTH_THREADS: mode.threads },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const closed = new Promise((resolve) => child.once("close", resolve));
  let output = "";
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within 30 s:\n${output}`)), 30_000);
      const seen = (chunk: Buffer) => {
        output += chunk.toString();
        if (/\bready\b/.test(output)) {
          clearTimeout(timer);
          resolve(performance.now() - start);
        }
      };
      child.stdout.on("data", seen);
      child.stderr.on("data", seen);
      child.on("exit", (code) => reject(new Error(`exited (${code}) before ready:\n${output}`)));
    });
    return { readyMs, cpuMs: cpuOfTree(child.pid!) };
  } finally {
    child.kill("SIGINT");
    await closed;
    removeDir(data);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const results = new Map<string, { ready: number[]; cpu: number[] }>();
for (let run = 0; run < RUNS; run++) {
  for (const dist of run % 2 === 0 ? DISTS : [...DISTS].reverse()) {
    for (const mode of MODES) {
      const { readyMs, cpuMs } = await once(dist, mode);
      const key = `${dist}\0${mode.name}`;
      const own = results.get(key) ?? { ready: [], cpu: [] };
      own.ready.push(readyMs);
      own.cpu.push(cpuMs);
      results.set(key, own);
      log(`${dist} ${mode.name}: ready after ${readyMs.toFixed(0)} ms, ${cpuMs} ms of CPU`);
    }
  }
}
const rows: Row[] = [];
for (const [key, { ready, cpu }] of results) {
  const [dist, mode] = key.split("\0") as [string, string];
  const note = `median of ${RUNS}; one agent class and a fetch; ${dist}`;
  rows.push({ bench: "cli-startup", metric: `${mode}: spawn → ready`, value: Math.round(median(ready)), unit: "ms", note });
  rows.push({ bench: "cli-startup", metric: `${mode}: CPU of its processes by then`, value: Math.round(median(cpu)), unit: "ms", note });
}
removeDir(PROJECT);
emit(rows);
