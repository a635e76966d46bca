import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The built CLI, as installed by `npm run build`. */
export const CLI = join(ROOT, "dist", "cli", "main.js");
/** Fixture entries for the CLI tests. */
export const FIXTURES = join(ROOT, "test", "cli", "fixtures");

/**
 * How long a wait for a CLI process's output (or exit) lasts by default. Generous on purpose: with the
 * whole suite running on two cores (Chromium, Postgres and cluster nodes included), a `hearth dev` that
 * starts in a second alone has been seen to print nothing for over 20 s.
 */
const DEFAULT_WAIT_MS = 45_000;

/** Throws a readable error when the CLI has not been built. */
export function requireBuild(): void {
  if (!existsSync(CLI) || !existsSync(join(ROOT, "dist", "index.js"))) {
    throw new Error(`${CLI} is missing: run \`npm run build\` before these tests (npm test does).`);
  }
}

/** A running `hearth` process with its output captured. */
export interface CliProcess {
  readonly proc: ChildProcess;
  /** stdout and stderr, interleaved as received. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in the output after `from` characters. */
  waitFor(pattern: RegExp, from?: number): Promise<RegExpMatchArray>;
  /** Resolves with the URL of the next `ready` line after `from` characters. */
  ready(from?: number): Promise<string>;
  /** Resolves when the process has exited. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/**
 * Environment for child processes: no colours and none of the variables the tests set themselves.
 * A server runs one thread unless the test asks for more (`--threads`, or `HEARTH_THREADS` in
 * `extra`): a second thread doubles what every start costs, and the suite starts ~90 servers; the
 * threads' own tests (test/shards/, and start's default in test/cli/start.test.ts) run several.
 * `HEARTH_TEST_THREADS=auto npm test` starts every one of them as `hearth start` does by default.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", HEARTH_THREADS: process.env.HEARTH_TEST_THREADS ?? "1", ...extra };
  for (const key of ["FORCE_COLOR", "HEARTH_PORT", "HEARTH_HOST", "HEARTH_DATA_DIR", "HEARTH_DEV_SUPERVISED", "HEARTH_TEST_THREADS"]) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Runs `node dist/cli/main.js ...args`; the process is killed by {@link cleanup} if still alive. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const env = options.env ?? cleanEnv();
  // A cluster node runs one thread (--cluster refuses more), whatever HEARTH_TEST_THREADS says.
  if (args.includes("--cluster") && env.HEARTH_THREADS !== undefined) env.HEARTH_THREADS = "1";
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  let all = "";
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    all += chunk;
    notify();
  });
  proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
    all += chunk;
    notify();
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on("close", (code, signal) => {
      live.delete(proc);
      exit = { code, signal };
      resolve(exit);
      notify();
    });
  });

  const waitFor = (pattern: RegExp, from = 0): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = all.slice(from).match(pattern);
        if (match) {
          finish();
          resolve(match);
        } else if (exit) {
          finish();
          reject(new Error(`process exited (${exit.code ?? exit.signal}) before printing ${pattern}; output:\n${all}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${all}`));
      }, DEFAULT_WAIT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    proc,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    ready: async (from = 0) => {
      const match = await waitFor(/(?:ready|reload)\s.*?(http:\/\/[^\s]+)/, from);
      return match[1] ?? "";
    },
    exited: (timeoutMs = DEFAULT_WAIT_MS) =>
      Promise.race([
        exitPromise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms; output:\n${all}`)), timeoutMs).unref(),
        ),
      ]),
  };
}

/** A fresh temporary directory, removed by {@link cleanup}. */
export async function tempDir(prefix = "hearth-cli-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Kills every process started by {@link runCli} that is still running and removes temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...live].map(async (proc) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const closed = once(proc, "close");
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
        await closed;
        clearTimeout(timer);
      }
      live.delete(proc);
    }),
  );
  await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.clear();
}

/** Whether a process with this id is still running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Polls `condition` every 50 ms until it is true or `timeoutMs` passes. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export { freePort } from "../support/ports.ts";
