import { defaultThreads, type RunOptions } from "./args.ts";
import { formatBanner } from "./banner.ts";
import { CliError, kindOfUnexpected } from "./errors.ts";
import { isSupervised, tellParent } from "./ipc.ts";
import { captureStartupConsole } from "./startup-console.ts";
import type { RunningServer } from "./server.ts";
import { logUnhandledRejections } from "./unhandled-rejections.ts";

/** How long a graceful stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * `hearth start`: serves in this process until SIGINT or SIGTERM, then shuts down gracefully.
 * Under `hearth dev` it reports readiness to the parent instead of printing the banner, ignores
 * SIGINT (the parent forwards Ctrl-C as SIGTERM) and stops when the parent goes away.
 */
export async function runStart(options: RunOptions, cwd: string): Promise<void> {
  const supervised = isSupervised();
  // JSON logs are JSON from the first line: the runtime speaks while it opens the data directory.
  captureStartupConsole(options, options.command === "dev" || supervised);
  let running: RunningServer;
  try {
    // One thread per core unless told otherwise; `hearth dev` (which supervises this) and a cluster node run one.
    const threads = options.threads ?? (supervised || options.cluster ? 1 : defaultThreads());
    // Imported here, not with this module: --threads starts its threads before it loads the runtime.
    running = threads > 1 ? await (await import("./threads.ts")).startThreadedServer(options, cwd, threads) : await (await import("./server.ts")).startServer(options, cwd);
  } catch (error) {
    // `hearth dev` waits for an edit after a failure the project can fix, and stops on one it cannot.
    const kind = error instanceof CliError ? error.kind : kindOfUnexpected(error);
    if (supervised && kind !== undefined) await tellParent({ type: "failed", kind });
    throw error;
  }
  // From ready on, one agent's unhandled rejection must not end the server; before, it is a failed start.
  logUnhandledRejections();

  if (supervised) {
    const { command: _command, ...banner } = running.banner;
    await tellParent({ type: "ready", banner });
  } else {
    process.stdout.write(`${formatBanner(running.banner)}\n`);
  }

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) {
      if (!supervised && why === "SIGINT") process.exit(130);
      return;
    }
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`hearth: did not stop within ${STOP_TIMEOUT_MS / 1000}s; exiting anyway\n`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`hearth: error while stopping: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => {
    if (!supervised) stop("SIGINT");
  });
  if (supervised) {
    process.on("disconnect", () => stop("disconnect"));
    if (!process.connected) stop("disconnect"); // the parent went away while this server started
  }
}
