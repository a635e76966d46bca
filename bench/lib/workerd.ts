/**
 * workerd, Cloudflare's open-source Workers runtime, for benchmarks that run the same workload on
 * Hearth and on workerd in one run. It is a dev dependency (the npm package `workerd` ships the binary
 * for this platform), so nothing is installed at run time.
 */
import { execFile, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { BENCH_DIR } from "./common.ts";
import { freePort, stopChild, waitUntilServing, type ServerProcess } from "./do-server.ts";

const run = promisify(execFile);

/** An installed workerd. */
export interface Workerd {
  /** Path of the binary. */
  binary: string;
  /** `workerd --version`, e.g. "workerd 2026-11-23". */
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
 * The workerd of the project's dev dependencies. Resolves to a reason instead when the package is
 * missing or its binary does not run on this machine, so a benchmark can still report Hearth's figures.
 */
export async function ensureWorkerd(): Promise<Workerd | { missing: string }> {
  try {
    const pkg = createRequire(join(BENCH_DIR, "..", "package.json"))("workerd") as WorkerdPackage;
    const binary = pkg.default;
    const { stdout } = await run(binary, ["--version"], { timeout: 30_000 });
    return { binary, version: stdout.trim(), compatibilityDate: pkg.compatibilityDate };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return { missing: `workerd (the dev dependency) could not be loaded or run here: ${message}` };
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
