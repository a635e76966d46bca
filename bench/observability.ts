/**
 * The cost of observability on the hot path: one agent, HTTP POST (setState + INSERT) and WebSocket
 * RPC (ping), with
 *  - off:    nothing subscribed, tracing off, no /metrics (what every server pays for the hooks alone);
 *  - all on: /metrics, every agents:* channel subscribed, the logger writing to a log store, and
 *            traces sampled at 100% kept in the local span store (OTLP export off: it leaves the
 *            process, so its cost is the network's).
 * Goals (issue 16): all on ≤ 5% slower than off; off ≤ 1% slower than a build without the hooks
 * (`--before <dist dir>`: the same workload on an older build's dist/, e.g. a worktree of the commit
 * before observability; the row is left out without it).
 * `--parts events,logs,traces,traces-file,metrics` picks what "all on" turns on, to see what each costs.
 * The phases alternate (off, on, off, on, …) so drift on a shared machine hits both alike; each
 * value is the median of its rounds. Besides throughput it reports the server's CPU time per request
 * (this process's user + system time over the load phase, divided by the operations done): the load
 * generator shares the cores, so throughput moves with whatever else runs, while CPU per operation
 * is what the hooks themselves add.
 */
import { pathToFileURL } from "node:url";
import { emit, flag, log, runChild, withDataDir, type Row } from "./lib/common.ts";
import { counterOn } from "./lib/dist-counter.ts";
import type { HttpLoadInput, HttpLoadResult } from "./lib/http-load.ts";
import type { WsLoadInput, WsLoadResult } from "./lib/ws-load.ts";

const ROUNDS = Number(flag("rounds") ?? 3);
const SECONDS = Number(flag("seconds") ?? 3);
const BEFORE = flag("before");
/** Which parts "all on" turns on (default all): events, logs, traces (in memory), traces-file (kept in SQLite), metrics. */
const PARTS = new Set((flag("parts") ?? "events,logs,traces,traces-file,metrics").split(","));
/** Which loads run (default both): `--kinds http` profiles HTTP alone. */
const KINDS = new Set((flag("kinds") ?? "http,ws").split(","));

type Dist = typeof import("../dist/index.js");
type Mode = "before" | "off" | "on";

/** Turns everything on; returns what turns it off again. */
async function allOn(dataDir: string): Promise<() => Promise<void>> {
  const events = await import("../dist/events/index.js");
  const logs = await import("../dist/observability/logs/index.js");
  const store = await import("../dist/observability/store/index.js");
  const traces = await import("../dist/observability/traces/index.js");
  let seen = 0;
  const unsubscribe = PARTS.has("events") ? (Object.keys(events.channels) as Array<keyof typeof events.channels>).map((key) => events.subscribe(key, () => void seen++)) : [];
  const logStore = PARTS.has("logs") ? new store.LogStore({ path: `${dataDir}/logs.sqlite` }) : undefined;
  const restoreConsole = logStore ? logs.captureConsole(logs.createLogger({ destination: { write: () => true }, onRecord: logStore.onRecord }), { everywhere: true }) : () => {};
  // As hearth dev / start keep them: every trace in memory; in the file, those with an error, a model
  // call or a slow span, and 1% of the rest (`--file-sample 1` writes every span).
  const persist = PARTS.has("traces-file") ? { persist: { path: `${dataDir}/spans.sqlite`, sampleRatio: Number(flag("file-sample") ?? 0.01) } } : {};
  const tracing = PARTS.has("traces") || PARTS.has("traces-file") ? traces.enableTracing({ otlp: false, store: persist }) : undefined;
  return async () => {
    log(`  on (${[...PARTS].join(", ")}): ${seen} events seen, ${tracing?.store.stats().spans ?? 0} spans kept`);
    for (const off of unsubscribe) off();
    restoreConsole();
    await tracing?.close();
    logStore?.close();
  };
}

interface Measured {
  http: number;
  ws: number;
  /** Server CPU microseconds per HTTP request / per RPC call. */
  httpCpu: number;
  wsCpu: number;
}

/** Runs `load` and returns its result with this process's CPU microseconds per operation. */
async function withCpu<R>(load: () => Promise<R>, operations: (result: R) => number): Promise<[R, number]> {
  const before = process.cpuUsage();
  const result = await load();
  const used = process.cpuUsage(before);
  return [result, (used.user + used.system) / Math.max(1, operations(result))];
}

async function measure(mode: Mode): Promise<Measured> {
  const distUrl = mode === "before" ? pathToFileURL(`${BEFORE}/index.js`).href : new URL("../dist/index.js", import.meta.url).href;
  const dist = (await import(distUrl)) as Dist;
  return withDataDir(`observability-${mode}`, undefined, async (dataDir) => {
    const host = new dist.Host({ dataDir, agents: { Counter: counterOn(dist) } });
    const turnOff = mode === "on" ? await allOn(dataDir) : undefined;
    const server = await dist.serve({ host, port: 0, ...(mode === "on" && PARTS.has("metrics") ? { metrics: true } : {}) });
    try {
      const skipped = <R>(result: R): Promise<[R, number]> => Promise.resolve([result, Number.NaN]);
      const [http, httpCpu] = !KINDS.has("http") ? await skipped({ rate: Number.NaN, ok: 0, non2xx: 0, errors: 0 } as HttpLoadResult) : await withCpu(
        () =>
          runChild<HttpLoadResult>(
            "http-load.ts",
            { url: `${server.url}/agents/counter/hot`, method: "POST", body: "{}", connections: 32, pipelining: 1, duration: SECONDS } satisfies HttpLoadInput,
            (SECONDS + 30) * 1000,
          ),
        (result) => result.ok + result.non2xx,
      );
      const [ws, wsCpu] = !KINDS.has("ws") ? await skipped({ rate: Number.NaN, calls: 0, errors: 0 } as WsLoadResult) : await withCpu(() => runChild<WsLoadResult>(
        "ws-load.ts",
        {
          baseUrl: `${server.url.replace(/^http/, "ws")}/agents/counter/`,
          names: ["hot"],
          sockets: 4,
          inflight: 64,
          method: "ping",
          args: [],
          warmup: 1,
          duration: SECONDS,
          connectConcurrency: 4,
        } satisfies WsLoadInput,
        60_000,
      ), (result) => result.calls);
      if (mode === "on") await fetch(`${server.url}/metrics`).then((response) => response.text());
      log(`${mode}: HTTP ${Math.round(http.rate)} req/s, ${httpCpu.toFixed(1)} µs CPU each (${http.non2xx + http.errors} bad); WS ${Math.round(ws.rate)} calls/s, ${wsCpu.toFixed(1)} µs CPU each (${ws.errors} errors)`);
      return { http: http.rate, ws: ws.rate, httpCpu, wsCpu };
    } finally {
      await server.close();
      await turnOff?.();
      await host.close();
    }
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** `--modes on` runs one mode alone (to profile it: `node --cpu-prof bench/observability.ts --modes on`). */
const modes: Mode[] = (flag("modes")?.split(",") as Mode[] | undefined) ?? (BEFORE ? ["before", "off", "on"] : ["off", "on"]);
const results = new Map<Mode, Measured[]>(modes.map((mode) => [mode, []]));
// A discarded first pass of each mode: the first load in a process also pays for compiling the code
// and creating the agent's file, which would count against whichever mode comes first.
for (const mode of modes) await measure(mode);
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) results.get(mode)!.push(await measure(mode));
}
const of = (mode: Mode, kind: keyof Measured) => median(results.get(mode)!.map((r) => r[kind]));
const slower = (base: number, value: number) => ((base - value) / base) * 100;
const rows: Row[] = [];
for (const kind of modes.includes("off") && modes.includes("on") ? (["http", "ws"] as const).filter((k) => KINDS.has(k)) : []) {
  const what = kind === "http" ? "HTTP POST setState + INSERT, one agent" : "WebSocket RPC ping(), one agent";
  const unit = kind === "http" ? "req/s" : "calls/s";
  const off = of("off", kind);
  const on = of("on", kind);
  rows.push({ bench: "16 observability", metric: `${what}: off (hooks only)`, value: off, unit, note: `median of ${ROUNDS} rounds of ${SECONDS}s` });
  rows.push({ bench: "16 observability", metric: `${what}: all on (metrics, events, logs, traces 100% local)`, value: on, unit, note: `median of ${ROUNDS}` });
  rows.push({ bench: "16 observability", metric: `${what}: slowdown all on vs off`, value: Number(slower(off, on).toFixed(1)), unit: "%", goal: { op: "<=", value: 5 } });
  const cpuOff = of("off", `${kind}Cpu`);
  const cpuOn = of("on", `${kind}Cpu`);
  rows.push({ bench: "16 observability", metric: `${what}: server CPU per operation, off → all on`, value: Number(cpuOn.toFixed(1)), unit: "µs", note: `off ${cpuOff.toFixed(1)} µs` });
  rows.push({ bench: "16 observability", metric: `${what}: extra server CPU per operation, all on vs off`, value: Number((((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)), unit: "%", goal: { op: "<=", value: 5 } });
  if (BEFORE) {
    const before = of("before", kind);
    rows.push({ bench: "16 observability", metric: `${what}: slowdown off vs a build without observability`, value: Number(slower(before, off).toFixed(1)), unit: "%", goal: { op: "<=", value: 1 }, note: `before: ${Math.round(before)} ${unit} (${BEFORE})` });
    const cpuBefore = of("before", `${kind}Cpu`);
    rows.push({ bench: "16 observability", metric: `${what}: extra server CPU per operation, off vs a build without observability`, value: Number((((cpuOff - cpuBefore) / cpuBefore) * 100).toFixed(1)), unit: "%", goal: { op: "<=", value: 1 }, note: `before ${cpuBefore.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs` });
  }
}
emit(rows);
