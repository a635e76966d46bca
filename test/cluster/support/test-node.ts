import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterNode } from "../../../src/cluster/node.ts";
import { clusterWorkflows } from "../../../src/cluster/workflows.ts";
import { serve, type HearthServer, type ServeOptions, type WorkerFetch } from "../../../src/gateway/serve.ts";
import { Host, type HostOptions } from "../../../src/platform/host.ts";
import { routeAgentRequest } from "../../../src/index.ts";
import { whenFilesSettled } from "../../../src/storage/settle.ts";
import pg from "pg";
import { freePort } from "../../support/ports.ts";
import { sharedPostgres } from "../../support/postgres.ts";

/** A cluster node in this test process: its data directory, host and loopback server. */
export interface TestNode {
  readonly id: string;
  readonly url: string;
  readonly node: ClusterNode;
  readonly host: Host;
  readonly server: HearthServer;
  readonly dir: string;
}

export interface TestNodeOptions {
  /** The host's classes and settings (workflows run on the node holding them, as under `hearth start --cluster`). */
  host?: Omit<HostOptions, "dataDir" | "placement" | "replication" | "facetTrees">;
  /** The worker; default: agents by URL, else 404. */
  fetch?: WorkerFetch;
  /** More for `serve` (metrics), given the host and node. */
  serve?: (host: Host, node: ClusterNode) => Partial<ServeOptions>;
  /** Membership timing; default the node's own (3 s TTL, 1 s heartbeat). */
  ttlMs?: number;
  heartbeatMs?: number;
  /** When the node gives back the leases of unused agents; default the node's own (10 minutes). 0: never (tests look themselves). */
  releaseIdleAfterMs?: number;
}

/**
 * Starts a cluster node in this process, joined to the cluster at `connectionString`, as
 * `hearth start --cluster` would wire it.
 * @example
 * const a = await startTestNode(url, "a", { host: { agents: { Counter } } });
 */
export async function startTestNode(connectionString: string, id: string, options: TestNodeOptions = {}): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-node-${id}-`));
  const port = await freePort();
  const timing = { ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}), ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}) };
  const release = options.releaseIdleAfterMs !== undefined ? { releaseIdleAfterMs: options.releaseIdleAfterMs } : {};
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: `http://127.0.0.1:${port}`, keepEveryMs: 200, ...timing, ...release }, dir);
  const ref: { host?: Host } = {};
  const { placement, replication, facetTrees } = node.hostOptions(() => ref.host!);
  const hostOptions = options.host ?? { agents: {} };
  const workflows = hostOptions.workflows && Object.keys(hostOptions.workflows).length > 0 ? clusterWorkflows(node, { stateDir: dir, host: () => ref.host }) : undefined;
  const host = new Host({ ...hostOptions, dataDir: dir, placement, ...(workflows ? { workflowPlacement: workflows } : {}), replication, facetTrees });
  ref.host = host;
  const fetch = node.wrapFetch(options.fetch ?? (async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 })));
  const server = await serve({ host, port, fetch, ...options.serve?.(host, node) });
  return { id, url: server.url, node, host, server, dir };
}

/** Stops a node as SIGTERM does (hands its agents over first) and removes its data directory. */
export async function stopTestNode(running: TestNode): Promise<void> {
  await running.node.drain();
  await running.server.close();
  await running.host.close();
  await running.node.close();
  // Hibernated files are made durable in the background: let that finish before their folder goes.
  await whenFilesSettled();
  rmSync(running.dir, { recursive: true, force: true });
}

/**
 * Nodes `a` and `b` joined on a fresh database of the shared Postgres, and a pool on it; `cleanups`
 * gets what stops them and ends the pool.
 * @example
 * const { a, b, pool } = await startTwoNodes("my_test", { host: { agents: { Counter } } }, cleanups);
 */
export async function startTwoNodes(database: string, options: TestNodeOptions, cleanups: Array<() => Promise<unknown>>): Promise<{ a: TestNode; b: TestNode; pool: pg.Pool }> {
  const url = await (await sharedPostgres()).database(database);
  const pool = new pg.Pool({ connectionString: url });
  cleanups.push(() => pool.end());
  const start = async (id: string): Promise<TestNode> => {
    const running = await startTestNode(url, id, options);
    cleanups.push(() => stopTestNode(running));
    return running;
  };
  return { a: await start("a"), b: await start("b"), pool };
}
