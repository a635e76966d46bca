import { startEmailService, type EmailService } from "../email/serve-email.ts";
import { serve, type HearthServer } from "../gateway/serve.ts";
import type { RunOptions } from "./args.ts";
import { formatBanner, type BannerInfo } from "./banner.ts";
import { CliError } from "./errors.ts";
import { isSupervised, tellParent } from "./ipc.ts";
import { printWarning } from "./output.ts";
import { runInOrder } from "./in-order.ts";
import { startCliInspector, startCliObservability } from "./observability.ts";
import { readVersion } from "./version.ts";
import { resolveProject } from "./project.ts";
import { openEntryRuntime, openWranglerRuntime } from "./runtime.ts";

/** How long a graceful stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

/** A listening server and the host behind it. */
export interface RunningServer {
  banner: BannerInfo;
  /** Stops accepting requests, closes connections, then closes the host (flushing agent storage). */
  stop(): Promise<void>;
}

/**
 * Loads vars and the entry, creates the host and listens.
 *
 * @throws {CliError} when the entry cannot be loaded, serves nothing, or the port cannot be bound.
 */
export async function startServer(options: RunOptions, cwd: string): Promise<RunningServer> {
  const project = await resolveProject(options, cwd);
  const settings = project.options;
  const dev = options.command === "dev" || isSupervised();
  const runtime = project.config ? await openWranglerRuntime(project, cwd, dev) : await openEntryRuntime(project, cwd);
  const { host, entry } = runtime;
  for (const warning of runtime.warnings) printWarning(warning);
  let observability: ReturnType<typeof startCliObservability>;
  try {
    observability = startCliObservability(options, {
      dev,
      host,
      ...(runtime.queueDepths ? { queueDepths: runtime.queueDepths } : {}),
      ...(project.settings?.alerts ? { alerts: project.settings.alerts } : {}),
    });
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }

  let mail: EmailService;
  try {
    mail = await startEmailService({
      env: host.env,
      handler: entry.email,
      fetch: runtime.fetch,
      smtpPort: settings.smtpPort,
      hostname: settings.host,
      vars: process.env,
    });
  } catch (error) {
    await runtime.close().catch(() => undefined);
    await observability.close();
    throw listenError(error, { ...settings, port: settings.smtpPort ?? settings.port }, "--smtp-port");
  }
  for (const warning of mail.warnings) printWarning(warning);

  let server: HearthServer;
  try {
    server = await serve({
      host,
      port: settings.port,
      hostname: settings.host,
      fetch: mail.fetch ?? runtime.fetch,
      metrics: observability.metrics ?? false,
    });
  } catch (error) {
    await mail.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    await observability.close();
    throw listenError(error, settings);
  }

  let inspector: Awaited<ReturnType<typeof startCliInspector>>;
  try {
    inspector = await startCliInspector(options, {
      dev,
      host,
      serverPort: Number(new URL(server.url).port),
      metrics: observability.metrics,
      stores: observability.stores,
      version: readVersion(),
    });
  } catch (error) {
    await runInOrder([() => server.close(), () => mail.close(), () => runtime.close(), () => observability.close()]).catch(() => undefined);
    throw inspectorError(error, options);
  }

  runtime.start();
  return {
    banner: {
      command: options.command,
      entry: entry.display,
      agents: Object.keys(entry.agents),
      durableObjects: Object.keys(entry.durableObjects),
      workflows: Object.keys(entry.workflows),
      hasFetch: entry.fetch !== undefined,
      ...(entry.mcp ? { mcp: entry.mcp } : {}),
      url: server.url,
      ...(options.metrics !== false ? { metrics: `${server.url}/metrics` } : {}),
      ...(inspector ? { inspector: inspector.banner } : {}),
      ...(mail.smtp || mail.webhookPath || mail.outbound
        ? {
            email: {
              ...(mail.smtp ? { smtp: mail.smtp.url } : {}),
              ...(mail.webhookPath ? { webhook: server.url + mail.webhookPath } : {}),
              ...(mail.outbound ? { outbound: mail.outbound } : {}),
            },
          }
        : {}),
      dataDir: project.dataDir,
      durability: host.durability,
      ...runtime.banner,
      pendingTasks: host.pendingTasks,
    },
    stop: () => runInOrder([() => inspector?.handle.close(), () => server.close(), () => mail.close(), () => runtime.close(), () => observability.close()]),
  };
}

function inspectorError(error: unknown, options: RunOptions): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const port = options.inspectorPort ?? (options.port === 0 ? 0 : options.port + 1);
  if (code === "EADDRINUSE") {
    return new CliError("port-in-use", `The inspector's port ${port} is already in use. Pick another with --inspector-port <n>, or turn it off with --no-inspector.`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new CliError("startup", `Could not start the inspector: ${detail}`, { cause: error });
}

function listenError(error: unknown, options: RunOptions, flag = "--port"): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const where = `${options.host}:${options.port}`;
  if (error instanceof Error && error.name === "EmailError") {
    return new CliError("startup", `Mail is misconfigured: ${error.message}`, { cause: error });
  }
  if (code === "EADDRINUSE") {
    return new CliError(
      "port-in-use",
      `Port ${options.port} is already in use on ${options.host}. Stop the other server or pick another port with ${flag} <n> (${flag} 0 picks a free one).`,
      { cause: error },
    );
  }
  if (code === "EACCES") {
    return new CliError("startup", `No permission to listen on ${where}; try a port above 1023 with --port <n>.`, {
      cause: error,
    });
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    return new CliError("startup", `Cannot listen on ${where}: ${options.host} is not an address of this machine (--host).`, {
      cause: error,
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new CliError("startup", `Could not listen on ${where}: ${detail}`, { cause: error });
}

/**
 * `hearth start`: serves in this process until SIGINT or SIGTERM, then shuts down gracefully.
 * Under `hearth dev` it reports readiness to the parent instead of printing the banner, ignores
 * SIGINT (the parent forwards Ctrl-C as SIGTERM) and stops when the parent goes away.
 */
export async function runStart(options: RunOptions, cwd: string): Promise<void> {
  const supervised = isSupervised();
  let running: RunningServer;
  try {
    running = await startServer(options, cwd);
  } catch (error) {
    if (supervised && error instanceof CliError) await tellParent({ type: "failed", kind: error.kind });
    throw error;
  }

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
