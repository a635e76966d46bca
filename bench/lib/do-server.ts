/**
 * Servers under test as child processes: `hearth start` on a wrangler project (the built CLI in dist/),
 * and the pieces workerd's launcher shares with it (a free port, waiting until a URL answers).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { BENCH_DIR, sleep } from "./common.ts";

/** The built CLI, as `npm run build` leaves it. */
export const HEARTH_CLI = join(BENCH_DIR, "..", "dist", "cli", "main.js");

const START_TIMEOUT_MS = 30_000;
/** USER_HZ of /proc/<pid>/stat: 100 on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/** A server process listening on loopback. */
export interface ServerProcess {
  url: string;
  /** The process id, e.g. to read its memory. */
  pid: number;
  close(): Promise<void>;
}

/** What /proc says of a process (Linux); undefined elsewhere. */
export interface ProcessUsage {
  /** Resident memory, bytes. */
  rss: number;
  /** CPU time used so far (user + system), seconds. */
  cpuSeconds: number;
}

export function usageOf(pid: number): ProcessUsage | undefined {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!rss || !Number.isFinite(ticks)) return undefined;
    return { rss: Number(rss[1]) * 1024, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system, seconds) of this process's children that have exited and been waited for
 * (`cutime` + `cstime` of /proc/self/stat): what a load generator such as wrk used, read before and
 * after it runs. Undefined off Linux.
 */
export function exitedChildrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The most `threads` threads can gain over one on a machine of `cores` cores that the load generator
 * shares: when every operation costs `serverUs + clientUs` of CPU, the cores carry at most
 * `cores / (serverUs + clientUs)` operations a second, whatever the server does. With the CPU per
 * operation measured on one thread, this is what threads that cost nothing extra could reach; with the
 * figures measured on `threads` threads, what the run could reach at its own CPU per operation.
 * Undefined when a figure is missing.
 * @example scalingCeiling({ threads: 2, cores: 2, oneThreadRate: 37_900, serverUs: 28.1, clientUs: 6.3 }) // 1.53
 */
export function scalingCeiling(input: { threads: number; cores: number; oneThreadRate: number; serverUs: number; clientUs: number }): number | undefined {
  const perOp = input.serverUs + input.clientUs;
  if (!(perOp > 0) || !(input.oneThreadRate > 0)) return undefined;
  return Math.min(input.threads, (input.cores * 1e6) / perOp / input.oneThreadRate);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Resolves once `url` answers 200; rejects with the process's last output if it exits or never does. */
export async function waitUntilServing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before answering ${url}:\n${output()}`);
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer within ${START_TIMEOUT_MS / 1000} s:\n${output()}`);
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs `hearth start` in `projectDir` (its wrangler config decides what is served) with its data in
 * `dataDir` ("strict": every commit is synced to disk; "relaxed", the default: survives a crash of
 * the process, not of the machine), and resolves once `healthPath` answers 200.
 */
export async function startHearth(projectDir: string, dataDir: string, durability: "relaxed" | "strict" = "relaxed", healthPath = "/health"): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const key of ["HEARTH_PORT", "HEARTH_HOST", "HEARTH_DATA_DIR"]) delete env[key];
  // One thread, as the figures before `hearth start` defaulted to one per core: threads are measured by bench `shards`.
  const child = spawn(process.execPath, [HEARTH_CLI, "start", "--threads", "1", "--port", String(port), "--data", dataDir, "--durability", durability], {
    cwd: projectDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-4000);
  };
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(`${url}${healthPath}`, child, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { url, pid: child.pid!, close: () => stopChild(child) };
}

/**
 * Runs `hearth start <entry> --threads N` with its data in `dataDir` (and `extraArgs`), logging only
 * warnings, and resolves once `readyPath` answers 200. `cwd`: where it runs (a hearth.config.ts there
 * applies).
 * @example
 * const server = await startEntry(join(BENCH_DIR, "lib", "shard-app.ts"), 2, dataDir, "/agents/counter/warm");
 */
export async function startEntry(
  entry: string,
  threads: number,
  dataDir: string,
  readyPath: string,
  extraArgs: readonly string[] = [],
  cwd?: string,
): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", HEARTH_LOG_LEVEL: "warn" };
  const child = spawn(process.execPath, [HEARTH_CLI, "start", entry, "--threads", String(threads), "--port", String(port), "--data", dataDir, ...extraArgs], {
    ...(cwd === undefined ? {} : { cwd }),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilServing(`${url}${readyPath}`, child, () => output);
  return { url, pid: child.pid!, close: () => stopChild(child) };
}
