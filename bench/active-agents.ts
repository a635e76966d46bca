/**
 * Active agents per core: N users, each with its own agent and an open WebSocket, each sending an RPC
 * every 10 s that does setState + INSERT and gets a reply (bench/lib/ws-users.ts, its own process).
 * `--profile <dir>` writes a CPU profile of the server there. N grows until the reply p99 passes 50 ms; the largest N under it is the figure, with the server's
 * memory per active agent there. `hearth start` serves with its defaults (hibernation after 10 s idle,
 * 4,096 agents in memory), data on disk.
 *
 *   npm run build && npx node bench/active-agents.ts [--threads 1] [--steps 1000,2500,5000,10000,15000] [--window 20] [--dir shm] [--nofile 200000]
 *
 * `--nofile N` starts the server under `prlimit --nofile=N:N` (raising the hard limit needs root): each
 * active agent holds its socket and, while its connection is open, two descriptors (the database and
 * its -wal), so the process's descriptor limit decides how many agents keep their files open (a fifth
 * of it by default, `maxOpenConnections`); past that, every message reopens a file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, SHM_DIR, emit, flag, log, removeDir, runChild, type Row } from "./lib/common.ts";
import { HEARTH_CLI, freePort, stopChild, waitUntilServing } from "./lib/do-server.ts";
import type { UsersInput, UsersStep } from "./lib/ws-users.ts";

const THREADS = Number(flag("threads") ?? 1);
const STEPS = (flag("steps") ?? "1000,2500,5000,10000,15000").split(",").map(Number);
const WINDOW = Number(flag("window") ?? 20);
const INTERVAL = 10;
const P99_BOUND_MS = 50;

const DIR = flag("dir") === "shm" ? SHM_DIR : tmpdir();
const dataDir = mkdtempSync(join(DIR, "hearth-active-"));
const port = await freePort();
const PROFILE_DIR = flag("profile");
const NOFILE = flag("nofile");
const serverArgs = [...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []), HEARTH_CLI, "start", join(BENCH_DIR, "lib", "shard-app.ts"), "--threads", String(THREADS), "--port", String(port), "--data", dataDir];
const child = spawn(NOFILE ? "prlimit" : process.execPath, NOFILE ? [`--nofile=${NOFILE}:${NOFILE}`, "--", process.execPath, ...serverArgs] : serverArgs, {
  env: { ...process.env, NO_COLOR: "1", HEARTH_LOG_LEVEL: "warn" },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
const url = `http://127.0.0.1:${port}`;
try {
  await waitUntilServing(`${url}/agents/counter/warm`, child, () => output);
  const rssBefore = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  const limit = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/limits`, "utf8"))?.[1];
  log(`${THREADS} thread(s); descriptor limit ${limit}; steps ${STEPS.join(", ")}; a message every ${INTERVAL}s per user; ${WINDOW}s windows`);
  const input: UsersInput = { url, serverPid: child.pid!, steps: STEPS, intervalSeconds: INTERVAL, windowSeconds: WINDOW, p99BoundMs: P99_BOUND_MS };
  const steps = await runChild<UsersStep[]>("ws-users.ts", input, 3_600_000);
  const rows: Row[] = steps.map((step) => ({
    bench: "active-agents",
    metric: `${step.users} users, one message / ${INTERVAL}s each, --threads ${THREADS}, data in ${DIR}${NOFILE ? `, descriptor limit ${NOFILE}` : ""}: reply p99`,
    value: step.p99,
    unit: "ms",
    goal: { op: "<=", value: P99_BOUND_MS },
    note: step.failed ? `not reached: ${step.failed}` : `p50 ${step.p50.toFixed(1)} ms; ${step.replies} replies in ${WINDOW}s, ${step.errors} errors; server CPU ${(step.cpu * 100).toFixed(0)}% of a core; RSS ${(step.rss / 2 ** 20).toFixed(0)} MiB (${((step.rss - rssBefore) / step.users / 1024).toFixed(1)} KB per user over the idle server); ramp ${step.rampSeconds.toFixed(0)}s`,
  }));
  const passing = steps.filter((step) => step.p99 <= P99_BOUND_MS).at(-1);
  rows.push({
    bench: "active-agents",
    metric: `active agents per core (largest N with reply p99 ≤ ${P99_BOUND_MS} ms, --threads ${THREADS}${NOFILE ? `, descriptor limit ${NOFILE}` : ""})`,
    value: passing ? passing.users / THREADS : 0,
    unit: "agents",
    goal: { op: ">=", value: 10_000 },
    note: passing ? `memory per active agent there: ${((passing.rss - rssBefore) / passing.users / 1024).toFixed(1)} KB; the load generator shares the machine` : "no step met the bound",
  });
  emit(rows);
} catch (error) {
  log(`the server's last output:\n${output}`);
  throw error;
} finally {
  await stopChild(child);
  removeDir(dataDir);
}
