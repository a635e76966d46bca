import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { dirname, join, relative } from "node:path";
import { toStartArgs, type RunOptions } from "./args.ts";
import { formatBanner, formatReload, formatReloadFailed, formatStartFailed } from "./banner.ts";
import { VAR_FILES } from "./env-files.ts";
import { CliError, EXIT_FAILURE, isRecoverable, type CliErrorKind } from "./errors.ts";
import { SUPERVISED_ENV, isChildMessage, type ChildMessage } from "./ipc.ts";
import { planModuleRules } from "../config/module-rules.ts";
import { ruleExtensions } from "./module-rules.ts";
import { printError } from "./output.ts";
import { configPathOf, configWatchFiles, resolveProject, type Project } from "./project.ts";
import { watchFiles, type Watcher } from "./watcher.ts";

const DEBOUNCE_MS = 150;
/** How long a server child gets to shut down before it is killed. */
const CHILD_STOP_TIMEOUT_MS = 8_000;

type Outcome =
  | { ok: true; message: Extract<ChildMessage, { type: "ready" }> }
  | { ok: false; fatal: boolean; detail: string };

/**
 * `hearth dev`: runs `hearth start` with the same options in a child process and restarts it when
 * a file under the entry's directory (or `.env` / `.dev.vars`) changes. Prints the banner once,
 * then one line per reload. SIGINT / SIGTERM stop the child, then this process.
 *
 * @throws {CliError} when the entry file does not exist.
 */
export async function runDev(options: RunOptions, cwd: string): Promise<void> {
  // A broken config is worth waiting on (the user fixes it and saves); the child reports it.
  let project: Project | undefined;
  // Until the config reads, the project is watched where that config is (a project directory, --config).
  let brokenConfig: string | undefined;
  try {
    project = await resolveProject(options, cwd);
  } catch (error) {
    if (!(error instanceof CliError) || error.kind !== "config") throw error;
    brokenConfig = configPathOf(options, cwd);
  }
  const display = project?.entry?.display ?? options.entry ?? "the project";
  // The child resolves the project again at every restart, so settings the command line left open
  // (port, host, data directory, durability) follow edits of hearth.config.ts and wrangler's `dev`.
  let current = { ...options };
  const resolvedPort = project?.options.port ?? options.port;
  let child: ChildProcess | undefined;
  let everReady = false;
  let stopping = false;
  let busy = false;
  let pending: string | undefined;
  const stoppedOnPurpose = new WeakSet<ChildProcess>();

  // One inspector token for the whole session: a restart must not log the browser out.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    [SUPERVISED_ENV]: "1",
    HEARTH_INSPECTOR_TOKEN: process.env.HEARTH_INSPECTOR_TOKEN || randomBytes(24).toString("base64url"),
  };
  const childArgv = [...process.execArgv.filter((arg) => !arg.startsWith("--inspect")), process.argv[1] ?? ""];

  const launch = (): Promise<Outcome> => {
    const proc = spawn(process.execPath, [...childArgv, ...toStartArgs(current)], {
      cwd,
      env: childEnv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child = proc;
    return new Promise((resolve) => {
      let settled = false;
      let failedKind: CliErrorKind | undefined;
      proc.on("message", (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.type === "ready" && !settled) {
          settled = true;
          resolve({ ok: true, message });
        } else if (message.type === "failed") {
          failedKind = message.kind;
        }
      });
      // "close" rather than "exit": by then every IPC message from the child has been delivered.
      proc.on("close", (code, signal) => {
        if (child === proc) child = undefined;
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        if (!settled) {
          settled = true;
          const fatal = failedKind !== undefined && !isRecoverable(failedKind);
          resolve({ ok: false, fatal, detail: `server ${how}` });
        } else if (!stopping && !stoppedOnPurpose.has(proc)) {
          printError(`server ${how}; waiting for changes`);
        }
      });
      proc.on("error", (error) => {
        if (!settled) {
          settled = true;
          printError(`could not start the server: ${error.message}; stopping`);
          resolve({ ok: false, fatal: true, detail: error.message });
        }
      });
    });
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    stoppedOnPurpose.add(proc);
    const exited = once(proc, "close");
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), CHILD_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const shutdown = async (code: number): Promise<never> => {
    stopping = true;
    watcher.close();
    await stopChild();
    process.exit(code);
  };

  /** Starts (or restarts) the child; returns false when dev must give up. */
  const cycle = async (reason: string | undefined): Promise<boolean> => {
    await stopChild();
    if (stopping) return true;
    const outcome = await launch();
    if (stopping) return true;
    if (outcome.ok) {
      const { banner } = outcome.message;
      // A free port picked at the first start is kept, so the URL stays the same across restarts.
      if (resolvedPort === 0 && current.port !== Number(new URL(banner.url).port)) {
        current = { ...current, port: Number(new URL(banner.url).port), defaulted: (current.defaulted ?? []).filter((name) => name !== "port") };
        // The inspector's too: once the port is pinned, its default (port + 1) may belong to someone else.
        if (banner.inspector && current.inspectorPort === undefined) current = { ...current, inspectorPort: Number(new URL(banner.inspector.url).port) };
      }
      if (!everReady) process.stdout.write(`${formatBanner({ command: "dev", ...banner })}\n`);
      else process.stdout.write(`${formatReload(reason ?? "restarted", banner.url, banner.agents)}\n`);
      everReady = true;
      return true;
    }
    // Fatal only when the server said why (that line is the whole story) or could not be started (said above).
    if (outcome.fatal) return false;
    if (reason === undefined) process.stdout.write(`${formatStartFailed(display, outcome.detail)}\n`);
    else process.stdout.write(`${formatReloadFailed(reason, outcome.detail)}\n`);
    return true;
  };

  const restart = async (reason: string): Promise<void> => {
    if (stopping) return;
    if (busy) {
      pending = reason;
      return;
    }
    busy = true;
    let next: string | undefined = reason;
    while (next !== undefined && !stopping) {
      pending = undefined;
      if (!(await cycle(next))) {
        await shutdown(EXIT_FAILURE);
        return;
      }
      next = pending;
    }
    busy = false;
  };

  // Changes seen before the first start has finished are queued like any other.
  busy = true;
  const watcher: Watcher = watchFiles({
    dir: project?.dir ?? (brokenConfig !== undefined ? dirname(brokenConfig) : cwd),
    ignoreDirs: [project?.options.dataDir ?? current.dataDir],
    files:
      project?.watchFiles ??
      (brokenConfig !== undefined
        ? configWatchFiles(brokenConfig, options.envName)
        : [...VAR_FILES, "wrangler.jsonc", "wrangler.json", "wrangler.toml"].map((name) => join(cwd, name))),
    anyFileDirs: project?.config?.assets ? [project.config.assets.directory] : [],
    // The files the module rules import (`.html`, `.wasm`, …) are code too.
    extensions: ruleExtensions(planModuleRules(project?.config?.moduleRules)),
    debounceMs: DEBOUNCE_MS,
    onChange: (paths) => void restart(describeChange(paths, cwd)),
    onError: (error) => printError(`file watching failed: ${error.message}`),
  });

  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) {
      child?.kill("SIGKILL");
      process.exit(130);
    }
    void shutdown(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const ok = await cycle(undefined);
  if (!ok) await shutdown(EXIT_FAILURE);
  busy = false;
  if (pending !== undefined) void restart(pending);
}

function describeChange(paths: readonly string[], cwd: string): string {
  if (paths.length === 0) return "files changed";
  const first = relative(cwd, paths[0] ?? "") || (paths[0] ?? "");
  return paths.length === 1 ? `${first} changed` : `${first} and ${paths.length - 1} more changed`;
}

