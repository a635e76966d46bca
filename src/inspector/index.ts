/**
 * The inspector: a web UI and HTTP API to look inside a running Hearth host — agents' state, SQL,
 * connections, tasks, workflows, traces, logs, metrics and alerts — on its own loopback listener,
 * behind a token, read-only unless the admin token unlocks changes, every change audited.
 * See docs/inspector/api.md and docs/inspector/security.md.
 * @packageDocumentation
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ForwardedDispatch, InspectorCluster } from "./cluster.ts";
import { inspectorCore, type InspectorCoreOptions } from "./core.ts";
import { Credentials, isLoopbackHost, randomToken } from "./security.ts";
import { inspectorHandler } from "./server.ts";
import { signInFragment } from "./sign-in-link.ts";
import { defaultUiDir } from "./static.ts";

export type { InspectorSources, MetricsSource, SpanSource, LogSource, ProblemSource, AlertSource, CatalogSource, SourcePage, SourceQuery } from "./sources.ts";
export { INSPECTOR_LIMITS } from "./limits.ts";
export { startInspectorPeer, type InspectorCoreOptions, type InspectorPeer } from "./core.ts";
export { AuditLog, type AuditEntry } from "./audit.ts";
export type { Role } from "./security.ts";
export type { InspectorCluster, InspectorTarget, ForwardedRequest, ForwardedAnswer, ForwardedDispatch, ClusterAgentRow, ClusterNodeInfo } from "./cluster.ts";

/** Options of {@link startInspector}. */
export interface InspectorOptions extends InspectorCoreOptions {
  /** Port to listen on; 0 (default) picks a free one. `hearth dev` uses the server's port + 1. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. Anything not loopback needs `allowRemote: true`. */
  hostname?: string;
  /** Allow a non-loopback `hostname` (the inspector then warns loudly: see the handle's `warning`). */
  allowRemote?: boolean;
  /** Host names besides loopback ones the `Host` header may carry (a reverse proxy's name). */
  allowedHosts?: readonly string[];
  /** The viewer token. Default: `HEARTH_INSPECTOR_TOKEN`, else random per start. */
  token?: string;
  /** The admin token. Default: `HEARTH_INSPECTOR_ADMIN_TOKEN`, else the one in `<dataDir>/inspector/admin-token`, else random (and written there, mode 0600). */
  adminToken?: string;
  /** Environment to read tokens from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Where the prebuilt UI is. Default: dist/inspector next to this module. */
  uiDir?: string;
}

/** A running inspector. */
export interface InspectorHandle {
  /** Base URL, e.g. `http://127.0.0.1:8788/`. */
  url: string;
  /** The URL to open: the base URL with `#token=<viewer token, URL-encoded>` (the fragment never reaches a server). */
  openUrl: string;
  port: number;
  token: string;
  adminToken: string;
  /** Where the admin token is stored, when it was generated or read from there. */
  adminTokenFile: string | undefined;
  /** Set when listening beyond loopback: print it loudly. */
  warning: string | undefined;
  /**
   * Makes this inspector show the whole cluster `cluster` belongs to (docs/inspector/cluster.md).
   * Returns what runs requests other nodes forward here (wire it to the cluster's internal route).
   * @example
   * const dispatch = inspector.joinCluster(view);
   */
  joinCluster(cluster: InspectorCluster): ForwardedDispatch;
  close(): Promise<void>;
}

/** Minimum length of a token given by option or environment. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Starts the inspector on its own HTTP listener (127.0.0.1 by default).
 * @example
 * const inspector = await startInspector({ host, port: 8788, metrics });
 * console.log(`Inspector: ${inspector.openUrl}`);
 * await inspector.close();
 */
export async function startInspector(options: InspectorOptions): Promise<InspectorHandle> {
  const hostname = options.hostname ?? "127.0.0.1";
  let warning: string | undefined;
  if (!isLoopbackHost(hostname)) {
    if (!options.allowRemote) {
      throw new Error(`The inspector refuses to listen on ${hostname}: it is not a loopback address. Pass allowRemote: true (--inspector-host) to expose it beyond this machine.`);
    }
    warning = `WARNING: the inspector listens on ${hostname}, beyond this machine. Anyone who can reach it and has the token can read every agent's data; keep the tokens secret and prefer a reverse proxy with TLS.`;
  }
  const env = options.env ?? process.env;
  const token = checkedToken(options.token ?? env.HEARTH_INSPECTOR_TOKEN, "the viewer token (HEARTH_INSPECTOR_TOKEN)") ?? randomToken();
  const admin = adminTokenOf(options, env, options.host.dataDir);
  if (token === admin.token) throw new Error("The viewer and admin tokens of the inspector must differ");
  const credentials = new Credentials(token, admin.token);
  const core = inspectorCore(options, credentials);
  const { routes, sources, stream, audit, info } = core;
  const allowedHosts = new Set((options.allowedHosts ?? []).map((name) => name.toLowerCase()));
  if (!isLoopbackHost(hostname)) allowedHosts.add(hostname.toLowerCase());
  const server = createServer(
    inspectorHandler({
      routes,
      credentials,
      allowedHosts,
      sources,
      stream,
      audit,
      uiDir: options.uiDir ?? defaultUiDir(),
      info,
    }),
  );
  server.requestTimeout = 0; // the live stream stays open
  try {
    await listen(server, options.port ?? 0, hostname);
  } catch (error) {
    core.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  credentials.listeningOn(port);
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
  let closed: Promise<void> | undefined;
  return {
    url,
    openUrl: `${url}${signInFragment(token)}`,
    port,
    token,
    adminToken: admin.token,
    adminTokenFile: admin.file,
    warning,
    joinCluster: (cluster) => core.joinCluster(cluster),
    close: () =>
      (closed ??= (async () => {
        stream.close(); // live streams end first: the server's close waits for its connections
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        core.close();
      })()),
  };
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function checkedToken(token: string | undefined, what: string): string | undefined {
  if (token === undefined || token === "") return undefined;
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) throw new Error(`${what} must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
  return token;
}

function adminTokenOf(options: InspectorOptions, env: Record<string, string | undefined>, dataDir: string): { token: string; file: string | undefined } {
  const given = checkedToken(options.adminToken ?? env.HEARTH_INSPECTOR_ADMIN_TOKEN, "the admin token (HEARTH_INSPECTOR_ADMIN_TOKEN)");
  if (given) return { token: given, file: undefined };
  const file = join(dataDir, "inspector", "admin-token");
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= MIN_TOKEN_LENGTH) return { token: stored, file };
  }
  const token = randomToken();
  mkdirSync(join(dataDir, "inspector"), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file };
}
