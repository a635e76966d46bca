/**
 * Shards: what carrying one request to another shard and its answer back costs, between worker threads
 * (MessagePort, structured clone) and between processes (child_process IPC, "advanced" serialization,
 * which is structured clone over a pipe). The message is shaped like a forwarded HTTP request and its
 * response (method, URL, headers, a small body). Reports round trips per second with 64 in flight and
 * the CPU of both sides per round trip. Evidence for docs/decisions/0016-shards.md.
 *
 *   npx node bench/shard-transport.ts [--seconds 3]
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { emit, flag, type Row } from "./lib/common.ts";

const SELF = fileURLToPath(import.meta.url);
const IN_FLIGHT = 64;

const REQUEST = {
  id: 0,
  method: "POST",
  url: "http://127.0.0.1:8787/agents/counter/one",
  headers: [["host", "127.0.0.1:8787"], ["content-type", "application/json"], ["content-length", "11"], ["user-agent", "wrk"]],
  body: new TextEncoder().encode('{"add":1}  '),
};

/** The far side: answers every request with a small response, and reports its CPU when asked. */
function serveEcho(send: (message: unknown) => void, on: (listener: (message: { id: number; cpu?: true }) => void) => void): void {
  on((message) => {
    if (message.cpu) return send({ cpu: process.cpuUsage() });
    send({ id: message.id, status: 200, headers: [["content-type", "application/json"]], body: new TextEncoder().encode('{"count":1}') });
  });
}

if (!isMainThread && workerData === "echo") {
  serveEcho((message) => parentPort!.postMessage(message), (listener) => parentPort!.on("message", listener));
} else if (process.argv[2] === "--echo-child") {
  serveEcho((message) => process.send!(message), (listener) => process.on("message", listener as never));
} else {
  await main();
}

interface Transport {
  send(message: unknown): void;
  on(listener: (message: { id?: number; cpu?: NodeJS.CpuUsage }) => void): void;
  close(): Promise<void>;
}

function threadTransport(): Transport {
  const worker = new Worker(SELF, { workerData: "echo" });
  return {
    send: (message) => worker.postMessage(message),
    on: (listener) => void worker.on("message", listener),
    close: async () => void (await worker.terminate()),
  };
}

function processTransport(): Transport {
  const child: ChildProcess = fork(SELF, ["--echo-child"], { serialization: "advanced", stdio: "inherit" });
  return {
    send: (message) => void child.send(message as never),
    on: (listener) => void child.on("message", listener as never),
    close: async () => {
      child.kill();
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

async function measure(transport: Transport, seconds: number, shared: boolean): Promise<{ perSecond: number; cpuUs: number }> {
  let cpuWaiter: ((cpu: NodeJS.CpuUsage) => void) | undefined;
  let done = 0;
  let next = 0;
  let stopAt = 0;
  let finish: (() => void) | undefined;
  let inFlight = 0;
  const sendOne = () => {
    inFlight++;
    transport.send({ ...REQUEST, id: next++ });
  };
  transport.on((message) => {
    if (message.cpu) return cpuWaiter?.(message.cpu);
    inFlight--;
    done++;
    if (performance.now() < stopAt) sendOne();
    else if (inFlight === 0) finish?.();
  });
  // Warm up, then measure.
  for (const phase of ["warm", "measure"] as const) {
    done = 0;
    const farBefore = await new Promise<NodeJS.CpuUsage>((resolve) => ((cpuWaiter = resolve), transport.send({ cpu: true })));
    const ownBefore = process.cpuUsage();
    const started = performance.now();
    stopAt = started + (phase === "warm" ? 500 : seconds * 1000);
    await new Promise<void>((resolve) => {
      finish = resolve;
      for (let i = 0; i < IN_FLIGHT; i++) sendOne();
    });
    const elapsed = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    const farAfter = await new Promise<NodeJS.CpuUsage>((resolve) => ((cpuWaiter = resolve), transport.send({ cpu: true })));
    // A worker thread's process.cpuUsage() is the whole process's, which `own` already counts.
    const far = shared ? 0 : farAfter.user + farAfter.system - farBefore.user - farBefore.system;
    if (phase === "measure") return { perSecond: done / elapsed, cpuUs: (own.user + own.system + far) / done };
  }
  throw new Error("unreachable");
}

async function main(): Promise<void> {
  const seconds = Number(flag("seconds") ?? 3);
  const rows: Row[] = [];
  for (const [label, make, shared] of [
    ["worker threads (MessagePort)", threadTransport, true],
    ["processes (IPC, advanced serialization)", processTransport, false],
  ] as const) {
    const transport = make();
    const { perSecond, cpuUs } = await measure(transport, seconds, shared);
    await transport.close();
    rows.push({ bench: "shard-transport", metric: `forwarded request + response round trips, ${label}`, value: perSecond, unit: "/s", note: `${IN_FLIGHT} in flight, ${seconds}s; ${cpuUs.toFixed(1)} µs CPU per round trip, both sides` });
  }
  emit(rows);
}
