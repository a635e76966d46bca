/**
 * workerd, Cloudflare's open-source Workers runtime, for benchmarks that run the same workload on
 * Hearth and on workerd in one run. It is not a dependency of the project: the first use installs the
 * npm package `workerd` (which ships the binary for this platform) into bench/.data/workerd, which git
 * ignores, and later runs reuse it.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { BENCH_DIR, log } from "./common.ts";
import { freePort, stopChild, waitUntilServing, type ServerProcess } from "./do-server.ts";

const run = promisify(execFile);

/** Where the package is installed on first use. */
export const WORKERD_DIR = join(BENCH_DIR, ".data", "workerd");

/** An installed workerd. */
export interface Workerd {
  /** Path of the binary. */
  binary: string;
  /** `workerd --version`, e.g. "workerd 2026-11-17". */
  version: string;
  /** The newest compatibility date this build supports. */
  compatibilityDate: string;
}

/** What the `workerd` package's main module exports. */
interface WorkerdPackage {
  default: string;
  compatibilityDate: string;
}

/**
 * The installed workerd, installing it first if needed. Resolves to a reason instead when it cannot be
 * installed or does not run on this machine, so a benchmark can still report Hearth's figures.
 */
export async function ensureWorkerd(): Promise<Workerd | { missing: string }> {
  const main = join(WORKERD_DIR, "node_modules", "workerd");
  try {
    if (!existsSync(main)) {
      mkdirSync(WORKERD_DIR, { recursive: true });
      log(`installing workerd into ${WORKERD_DIR} (first use only)`);
      await run("npm", ["install", "--prefix", WORKERD_DIR, "--no-save", "--no-audit", "--no-fund", "--loglevel", "error", "workerd@latest"], {
        timeout: 300_000,
      });
    }
    const pkg = createRequire(join(WORKERD_DIR, "package.json"))("workerd") as WorkerdPackage;
    const binary = pkg.default;
    const { stdout } = await run(binary, ["--version"], { timeout: 30_000 });
    return { binary, version: stdout.trim(), compatibilityDate: pkg.compatibilityDate };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return { missing: `workerd could not be installed or run here: ${message}` };
  }
}

/**
 * Runs `workerd serve <configPath>` with its socket named `http` on a free loopback port, and resolves
 * once `healthPath` answers 200.
 */
export async function startWorkerd(workerd: Workerd, configPath: string, cwd: string, healthPath = "/health"): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(workerd.binary, ["serve", configPath, "--socket-addr", `http=127.0.0.1:${port}`], {
    cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(`${url}${healthPath}`, child, () => stderr);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { url, pid: child.pid!, close: () => stopChild(child) };
}
