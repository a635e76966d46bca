/**
 * Does a sandbox burning CPU stall the host? A real Hearth host on loopback serves a busy agent
 * (bench 1's Counter: POST → setState + INSERT) under load from autocannon in a child process, while
 * the same process runs sandboxes that spin for their whole CPU budget (cpuMs raised to 2,000 ms,
 * `for (;;) {}`, one after another with a 250 ms pause). Request latency p50/p99 with no sandbox, with the sandboxes on
 * the in-thread engine, and on the worker pool (the default).
 *
 *   npm run build && node bench/sandbox-stall.ts [--connections 8] [--seconds 8] [--cpu-ms 2000]
 */
import { Host, serve } from "../dist/index.js";
import { Sandbox, inThreadEngine, workerPoolEngine, type SandboxEngine } from "../dist/sandbox/index.js";
import { Counter } from "./lib/agents.ts";
import { emit, flag, log, runChild, withDataDir, type Row } from "./lib/common.ts";
import type { HttpLoadInput, HttpLoadResult } from "./lib/http-load.ts";

const CONNECTIONS = Number(flag("connections") ?? 8);
const SECONDS = Number(flag("seconds") ?? 8);
const CPU_MS = Number(flag("cpu-ms") ?? 2_000);
const PAUSE_MS = 250;

function load(url: string, duration: number): Promise<HttpLoadResult> {
  return runChild<HttpLoadResult>("http-load.ts", { url, method: "POST", body: "{}", connections: CONNECTIONS, pipelining: 1, duration } satisfies HttpLoadInput, (duration + 30) * 1000);
}

/** Runs spinning sandboxes one after another until `stop()`; resolves with how many ran and how they ended. */
function spinner(engine: SandboxEngine): { stop: () => Promise<{ runs: number; errors: string[] }> } {
  let stopping = false;
  let runs = 0;
  const errors = new Set<string>();
  const loop = (async () => {
    while (!stopping) {
      const sandbox = await Sandbox.create({ engine, cpuMs: CPU_MS, wallMs: CPU_MS * 10 });
      const result = await sandbox.runFunction("async () => { for (;;) {} }");
      sandbox.dispose();
      runs++;
      errors.add(result.error?.limit ?? "none");
      // A pause between runs (on the in-thread engine a loop of calls would be all microtasks and never let a request in).
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return { runs, errors: [...errors] };
    },
  };
}

async function phase(url: string, label: string, engine: SandboxEngine | undefined): Promise<Row[]> {
  const spinning = engine ? spinner(engine) : undefined;
  const result = await load(url, SECONDS);
  const spun = await spinning?.stop();
  const sandboxes = spun ? `${spun.runs} spinning sandboxes of cpuMs ${CPU_MS} (stopped by: ${spun.errors.join(", ")})` : "no sandbox";
  log(`${label}: ${result.rate.toFixed(0)} req/s, p50 ${result.latencyP50} ms, p99 ${result.latencyP99} ms; ${sandboxes}`);
  const note = `${CONNECTIONS} conns, ${SECONDS}s; ${sandboxes}; ${result.non2xx + result.errors} errors`;
  return [
    { bench: "sandbox-stall", metric: `agent HTTP latency p99, ${label}`, value: result.latencyP99, unit: "ms", note },
    { bench: "sandbox-stall", metric: `agent HTTP latency p50, ${label}`, value: result.latencyP50, unit: "ms" },
    { bench: "sandbox-stall", metric: `agent HTTP requests per second, ${label}`, value: result.rate, unit: "req/s" },
  ];
}

const rows = await withDataDir("sandbox-stall", undefined, async (dataDir) => {
  const host = new Host({ dataDir, agents: { Counter } });
  const server = await serve({ host, port: 0 });
  try {
    const url = `${server.url}/agents/counter/busy`;
    await load(url, 1); // warm-up
    // Each engine's first sandbox pays a one-off start (worker thread, WebAssembly compile) outside the measure.
    for (const engine of [inThreadEngine(), workerPoolEngine()]) (await Sandbox.create({ engine })).dispose();
    return [
      ...(await phase(url, "no sandbox running", undefined)),
      ...(await phase(url, "sandboxes spinning on the in-thread engine", inThreadEngine())),
      ...(await phase(url, "sandboxes spinning on the worker pool", workerPoolEngine())),
    ];
  } finally {
    await server.close();
    await host.close();
    await workerPoolEngine().close();
  }
});
emit(rows);
