/**
 * Node processes of a cluster for the benchmarks: `hearth start --cluster` from the built CLI (as
 * test/cluster/faults.test.ts starts them), each with its own data directory, serving
 * bench/lib/cluster-app.ts; and the CPU that Postgres' processes used.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, removeDir } from "./common.ts";
import { HEARTH_CLI, freePort, stopChild, usageOf, waitUntilServing } from "./do-server.ts";

export const CLUSTER_APP = join(BENCH_DIR, "lib", "cluster-app.ts");
/** The agents' URL path and their actor ids' prefix in Postgres. */
export const AGENT_PATH = "/agents/cluster-counter";
export const ACTOR_PREFIX = "cluster-counter/";

export interface ClusterNodeProcess {
  id: string;
  url: string;
  pid: number;
  child: ChildProcess;
  dataDir: string;
  /** SIGKILL, and resolves once the process is gone (its data directory stays). */
  kill(): Promise<void>;
  /** SIGTERM (a drain: its agents are handed over), then the data directory is removed. */
  close(): Promise<void>;
  output(): string;
}

/** Starts a node (without `connectionString`: a plain single-node `hearth start`) and resolves once it answers a request for an agent. */
export async function startClusterNode(id: string, connectionString: string | undefined, dataDir?: string): Promise<ClusterNodeProcess> {
  const port = await freePort();
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), `hearth-bench-node-${id}-`));
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const key of ["HEARTH_PORT", "HEARTH_HOST", "HEARTH_DATA_DIR", "FORCE_COLOR"]) delete env[key];
  const cluster = connectionString === undefined ? [] : ["--cluster", connectionString, "--node-id", id, "--advertise", url];
  const args = [HEARTH_CLI, "start", CLUSTER_APP, "--port", String(port), "--data", dir, ...cluster, "--no-traces", "--no-metrics", "--log-level", "warn"];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-8000);
  };
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
  try {
    await waitUntilServing(`${url}${AGENT_PATH}/ready-${id}`, child, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    id,
    url,
    pid: child.pid!,
    child,
    dataDir: dir,
    output: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
    async close() {
      await stopChild(child);
      removeDir(dir);
    },
  };
}

/** CPU seconds used so far by the node processes. */
export function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (usageOf(pid)?.cpuSeconds ?? 0), 0);
}

/** CPU seconds used so far by a Postgres server: its postmaster (from postmaster.pid) and every child of it. */
export function postgresCpu(pgdata: string): number {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(pgdata, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
  const pids = [postmaster];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === postmaster) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return cpuOf(pids);
}
