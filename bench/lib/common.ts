/**
 * Shared helpers for the benchmarks: temp data directories, percentiles, result rows, and the
 * child-process plumbing that keeps load generators off the server's event loop.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A goal from the spec: the figure must be at least / at most `value`. */
export interface Goal {
  op: ">=" | "<=";
  value: number;
}

/** One line of the results table. */
export interface Row {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  goal?: Goal;
  /** Short extra context shown in the table (setup, sample size). */
  note?: string;
}

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

/** tmpfs, where files cost no disk I/O: separates disk cost from runtime cost. */
export const SHM_DIR = "/dev/shm";

export function shmAvailable(): boolean {
  return existsSync(SHM_DIR);
}

/** A fresh data directory under `base` (default: the OS temp dir, i.e. real disk here). */
export function tempDataDir(label: string, base: string = tmpdir()): string {
  return mkdtempSync(join(base, `hearth-bench-${label}-`));
}

/**
 * Under bench/run.ts (which sets it for its children), data directories are moved aside instead of
 * deleted, and run.ts deletes them once every benchmark is done. On this VM's ext4 (no journal) a file
 * creation skips, at a cost, every inode freed in the last minute or more: deleting one benchmark's
 * 100,000 files made the next benchmark's new files several times dearer.
 */
const TRASH_ENV = "HEARTH_BENCH_TRASH";

/** The folder next to `base`'s data directories where a run under bench/run.ts leaves them (`id`: the run's). */
export function trashFolder(base: string, id: string): string {
  return join(base, `hearth-bench-trash-${id}`);
}

/**
 * Makes this process (and its children) leave data directories aside, as bench/run.ts does, unless a
 * runner already collects them; returns what deletes them, to call once the measurements are done.
 */
export function collectDataDirs(): () => void {
  if (process.env[TRASH_ENV] !== undefined) return () => {};
  const id = String(process.pid);
  process.env[TRASH_ENV] = id;
  return () => {
    for (const base of [tmpdir(), SHM_DIR]) rmSync(trashFolder(base, id), { recursive: true, force: true });
  };
}

export function removeDir(dir: string): void {
  const id = process.env[TRASH_ENV];
  if (id !== undefined) {
    try {
      const trash = trashFolder(dirname(dir), id);
      mkdirSync(trash, { recursive: true });
      renameSync(dir, join(trash, basename(dir)));
      return;
    } catch {
      // Another file system, or gone already: deleted here.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `fn` with a temp data dir that is removed afterwards, whatever happens. */
export async function withDataDir<T>(label: string, base: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDataDir(label, base);
  try {
    return await fn(dir);
  } finally {
    removeDir(dir);
  }
}

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Milliseconds since `start` (from process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Lets the event loop run one turn (timers, I/O, setImmediate callbacks). In-process loops of
 * `await stub.method()` otherwise never leave the microtask queue, so work the runtime defers to the
 * next turn (end-of-turn commits, mailbox checks) piles up and keeps hibernated agents reachable —
 * unlike a server, where every request arrives in a turn of its own.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function goalMet(row: Row): boolean | undefined {
  if (!row.goal || !Number.isFinite(row.value)) return undefined;
  return row.goal.op === ">=" ? row.value >= row.goal.value : row.value <= row.goal.value;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** The results as a markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ["| Benchmark | Metric | Result | Goal | Met | Notes |", "| --- | --- | ---: | --- | :---: | --- |"];
  for (const row of rows) {
    const goal = row.goal ? `${row.goal.op === ">=" ? "≥" : "≤"} ${formatNumber(row.goal.value)} ${row.unit}` : "";
    const met = goalMet(row);
    const mark = met === undefined ? "" : met ? "yes" : "**no**";
    lines.push(`| ${row.bench} | ${row.metric} | ${formatNumber(row.value)} ${row.unit} | ${goal} | ${mark} | ${row.note ?? ""} |`);
  }
  return lines.join("\n");
}

/**
 * Hands a benchmark's rows to bench/run.ts (over IPC), or prints them when the file is run directly.
 */
export function emit(rows: readonly Row[]): void {
  if (process.send) process.send({ type: "rows", rows });
  else console.log(`\n${markdownTable(rows)}\n`);
}

/** Progress on stderr, so it never mixes with the table. */
export function log(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** Reads `--name value` from argv. */
export function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** Message from a load-generator child: its result, or the error that stopped it. */
type ChildReply<T> = { type: "result"; result: T } | { type: "error"; error: string };

/**
 * Runs a load generator (bench/lib/<script>.ts) in its own process, so it does not share an event
 * loop with the server under test, and resolves with the result it sends back.
 */
export function runChild<T>(script: string, input: unknown, timeoutMs: number): Promise<T> {
  const child: ChildProcess = fork(join(BENCH_DIR, "lib", script), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced",
  });
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (error: Error | undefined, result?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill();
      if (error) reject(error);
      else resolve(result as T);
    };
    const timer = setTimeout(() => finish(new Error(`${script} did not finish within ${timeoutMs} ms`)), timeoutMs);
    child.on("message", (message: ChildReply<T>) => {
      if (message.type === "result") finish(undefined, message.result);
      else finish(new Error(`${script}: ${message.error}`));
    });
    child.on("error", (error) => finish(error));
    child.on("exit", (code) => finish(new Error(`${script} exited with code ${code} before sending a result`)));
    child.send({ type: "start", input });
  });
}

/** The child side of {@link runChild}: waits for its input, runs `fn`, sends the result, exits. */
export function childMain<I, T>(fn: (input: I) => Promise<T>): void {
  process.once("message", (message: { type: "start"; input: I }) => {
    fn(message.input).then(
      (result) => process.send!({ type: "result", result }, () => process.exit(0)),
      (error: unknown) =>
        process.send!({ type: "error", error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
          process.exit(1),
        ),
    );
  });
}

/** mulberry32: a small deterministic PRNG, so a benchmark's "random" input is the same every run (the tests' one). */
export { seededRandom as mulberry32 } from "../../test/support/seeded-random.ts";

/** A load generator found on this machine: `wrk` (C, one thread per `-t`) is far lighter than autocannon. */
export interface Wrk {
  binary: string;
  /** First line of `wrk -v`, e.g. "wrk debian/4.1.0-3+b2 [epoll]". */
  version: string;
}

/**
 * `wrk` on PATH (or $WRK), or a reason it is missing: the benchmarks then fall back to autocannon and
 * say so.
 */
export function findWrk(): Wrk | { missing: string } {
  const binary = process.env.WRK ?? "wrk";
  try {
    // `wrk -v` prints its version and usage, and exits with 1.
    execFileSync(binary, ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    return { missing: `${binary} -v exited with 0 without a version` };
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? "";
    const first = stdout.split("\n")[0]!.replace(/\s+Copyright.*$/, "").trim();
    if (first.startsWith("wrk")) return { binary, version: first };
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return { missing: `wrk not found (${message}); autocannon is used instead` };
  }
}

/** The commit measured, with "+changes" when src/ differs from it ("unknown" outside a git checkout). */
export function benchCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: BENCH_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--", "src").length > 0 ? "+changes" : "");
  } catch {
    return "unknown";
  }
}
