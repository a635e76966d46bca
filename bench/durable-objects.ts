/**
 * Benchmark: plain Durable Objects with the WebSocket Hibernation API, on Hearth and on workerd in the
 * same run. One Worker (bench/lib/do-chat-worker.ts) runs unchanged on both: `acceptWebSocket` in
 * fetch; `webSocketMessage` does one SQL INSERT and replies. Each runtime is a server process of its
 * own (`hearth start`, `workerd serve`) with a fresh data directory; the clients (`ws`) run in another
 * process. Reports messages per second on one object and on many objects, and Hearth / workerd.
 * Hearth runs twice: with its default durability ("relaxed": a commit survives a crash of the process,
 * not a power loss) and with "strict" (every commit synced to disk, as workerd's local storage does).
 *
 *   npm run build && npx node bench/durable-objects.ts [--duration 5] [--objects 1000] [--tmpfs] [--no-workerd]
 *
 * workerd comes from the `workerd` dev dependency (its binary ships in the registry package). If it
 * cannot run here, Hearth's figures are still reported, with the reason workerd is missing.
 */
import { join } from "node:path";
import { writeHearthProject, writeWorkerdProject } from "./lib/do-chat-worker.ts";
import { startHearth, usageOf, type ServerProcess } from "./lib/do-server.ts";
import type { DoLoadInput, DoLoadResult } from "./lib/do-ws-load.ts";
import { SHM_DIR, emit, flag, hasFlag, log, runChild, shmAvailable, withDataDir, type Row } from "./lib/common.ts";
import { ensureWorkerd, startWorkerd, type Workerd } from "./lib/workerd.ts";

const BENCH = "durable-objects";
const DURATION = Number(flag("duration") ?? 5);
const WARMUP = Number(flag("warmup") ?? 1);
const OBJECTS = Number(flag("objects") ?? 1_000);
const ONE_SOCKETS = Number(flag("sockets") ?? 32);
const ONE_INFLIGHT = Number(flag("inflight") ?? 8);
/** A chat line of 64 characters. */
const MESSAGE = "hello from the benchmark: one chat line of sixty-four characters";
/** Compatibility date for Hearth's wrangler.json when workerd (whose newest date is used) is missing. */
const FALLBACK_COMPATIBILITY_DATE = "2026-11-01";

interface Phase {
  label: string;
  rooms: string[];
  sockets: number;
  inflight: number;
}

const PHASES: Phase[] = [
  { label: "one object", rooms: ["lobby"], sockets: ONE_SOCKETS, inflight: ONE_INFLIGHT },
  {
    label: `${OBJECTS.toLocaleString("en-US")} objects`,
    rooms: Array.from({ length: OBJECTS }, (_, i) => `room-${i}`),
    sockets: OBJECTS,
    inflight: 1,
  },
];

/** The servers compared: Hearth with its default durability and with every commit synced, and workerd. */
type Runtime = "Hearth" | "Hearth, strict" | "workerd";

interface Measured {
  result: DoLoadResult;
  /** Resident memory of the server process right after the load, bytes. */
  rss: number | undefined;
  /** Server CPU time per reply over the measured seconds, microseconds. */
  cpuPerReplyUs: number | undefined;
}

async function startRuntime(runtime: Runtime, dir: string, workerd: Workerd | undefined): Promise<ServerProcess> {
  const date = workerd?.compatibilityDate ?? FALLBACK_COMPATIBILITY_DATE;
  if (runtime !== "workerd") {
    writeHearthProject(join(dir, "project"), date);
    return startHearth(join(dir, "project"), join(dir, "data"), runtime === "Hearth, strict" ? "strict" : "relaxed");
  }
  const config = writeWorkerdProject(join(dir, "project"), join(dir, "data"), date);
  return startWorkerd(workerd!, config, join(dir, "project"));
}

async function measure(runtime: Runtime, phase: Phase, base: string | undefined, workerd: Workerd | undefined): Promise<Measured> {
  return withDataDir("do-chat", base, async (dir) => {
    const server = await startRuntime(runtime, dir, workerd);
    try {
      const result = await runChild<DoLoadResult>(
        "do-ws-load.ts",
        {
          baseUrl: `${server.url.replace(/^http/, "ws")}/rooms/`,
          rooms: phase.rooms,
          sockets: phase.sockets,
          inflight: phase.inflight,
          message: MESSAGE,
          warmup: WARMUP,
          duration: DURATION,
          connectConcurrency: 50,
          serverPid: server.pid,
        } satisfies DoLoadInput,
        120_000,
      );
      const after = usageOf(server.pid);
      const cpu = result.serverCpuSeconds;
      const cpuPerReplyUs = cpu !== undefined && result.replies > 0 ? (cpu / result.replies) * 1e6 : undefined;
      log(
        `${runtime}, ${phase.label}: ${result.replies} replies in ${result.duration.toFixed(2)} s = ${Math.round(result.rate)}/s, ` +
          `p50 ${result.latencyP50.toFixed(2)} ms, p99 ${result.latencyP99.toFixed(2)} ms, connect ${result.connectSeconds.toFixed(2)} s, ` +
          `dropped ${result.dropped}, server CPU ${cpuPerReplyUs === undefined ? "?" : `${cpuPerReplyUs.toFixed(0)} µs`}/reply, ` +
          `RSS ${after === undefined ? "?" : `${(after.rss / 2 ** 20).toFixed(0)} MiB`}`,
      );
      return { result, rss: after?.rss, cpuPerReplyUs };
    } finally {
      await server.close();
    }
  });
}

function setupOf(phase: Phase): string {
  return phase.rooms.length === 1
    ? `${phase.sockets} sockets × ${phase.inflight} in flight`
    : `${phase.sockets.toLocaleString("en-US")} sockets (one per object) × ${phase.inflight} in flight`;
}

function metricOf(runtime: Runtime, phase: Phase): string {
  return `messages/s, ${phase.label} (INSERT + reply) — ${runtime}`;
}

function row(runtime: Runtime, phase: Phase, measured: Measured, where: string, version: string): Row {
  const { result, rss, cpuPerReplyUs } = measured;
  const cpu = cpuPerReplyUs === undefined ? "" : `; server CPU ${cpuPerReplyUs.toFixed(0)} µs per message`;
  const memory = rss === undefined ? "" : `; server RSS after ${(rss / 2 ** 20).toFixed(0)} MiB`;
  return {
    bench: BENCH,
    metric: metricOf(runtime, phase),
    value: result.rate,
    unit: "msg/s",
    note:
      `${version}, ${setupOf(phase)}, ${DURATION} s, ${where}; latency p50 ${result.latencyP50.toFixed(2)} ms / p99 ${result.latencyP99.toFixed(2)} ms` +
      `${cpu}${memory}; sockets opened in ${result.connectSeconds.toFixed(1)} s; ${result.dropped} dropped`,
  };
}

function ratio(runtime: Runtime, phase: Phase, hearth: Measured, other: Measured): Row {
  return {
    bench: BENCH,
    metric: `${runtime} / workerd, ${phase.label}`,
    value: hearth.result.rate / other.result.rate,
    unit: "×",
    note: "same Worker, same load, one after the other in this run",
  };
}

const installed = hasFlag("no-workerd") ? { missing: "skipped (--no-workerd)" } : await ensureWorkerd();
const workerd = "binary" in installed ? installed : undefined;
const missing = "missing" in installed ? installed.missing : "";
if (workerd) log(`workerd: ${workerd.version} (${workerd.binary})`);
else log(`workerd missing: ${missing}`);

const base = hasFlag("tmpfs") && shmAvailable() ? SHM_DIR : undefined;
const where = base ? "data dir on tmpfs" : "data dir on disk";
const rows: Row[] = [];
for (const phase of PHASES) {
  const relaxed = await measure("Hearth", phase, base, workerd);
  const strict = await measure("Hearth, strict", phase, base, workerd);
  rows.push(row("Hearth", phase, relaxed, where, "hearth start (durability relaxed, the default)"));
  rows.push(row("Hearth, strict", phase, strict, where, "hearth start --durability strict (every commit synced)"));
  if (!workerd) {
    rows.push({ bench: BENCH, metric: metricOf("workerd", phase), value: Number.NaN, unit: "msg/s", note: missing });
    continue;
  }
  const other = await measure("workerd", phase, base, workerd);
  rows.push(row("workerd", phase, other, where, `${workerd.version}, localDisk storage`));
  rows.push(ratio("Hearth", phase, relaxed, other));
  rows.push(ratio("Hearth, strict", phase, strict, other));
}
emit(rows);
