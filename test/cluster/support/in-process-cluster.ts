import { rmSync } from "node:fs";
import type { WorkerFetch } from "../../../src/gateway/serve.ts";
import type { HostOptions } from "../../../src/platform/host.ts";
import { sharedPostgres, type TestPostgres } from "../../support/postgres.ts";
import { startBalancer, type Balancer } from "./balancer.ts";
import { startTestNode, type TestNode } from "./test-node.ts";

/** Cluster nodes in this process behind a round-robin balancer, on a real Postgres. */
export interface InProcessCluster {
  /** The balancer's URL: what clients use. */
  readonly url: string;
  readonly nodes: readonly TestNode[];
  readonly balancer: Balancer;
  close(): Promise<void>;
}

let shared: Promise<TestPostgres> | undefined;
let databases = 0;

/**
 * Starts `count` nodes (each its own data directory, host and loopback server, joined to one
 * cluster database) and a balancer in front. One Postgres server per test process, a database each.
 * @example
 * const cluster = await startInProcessCluster({ agents: { Counter } }, 3);
 */
export async function startInProcessCluster(hostOptions: Omit<HostOptions, "dataDir">, count = 3, fetch?: WorkerFetch): Promise<InProcessCluster> {
  const postgres = await (shared ??= sharedPostgres());
  const connectionString = await postgres.database(`cluster_${process.pid}_${++databases}`);
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startTestNode(connectionString, `n${i}`, { host: hostOptions, ...(fetch ? { fetch } : {}) }));
  }
  const balancer = await startBalancer(nodes.map((entry) => ({ host: "127.0.0.1", port: Number(new URL(entry.url).port) })));
  return {
    url: balancer.url,
    nodes,
    balancer,
    async close() {
      await balancer.close();
      for (const entry of nodes) await entry.server.close();
      for (const entry of nodes) await entry.host.close();
      for (const entry of nodes) await entry.node.close();
      for (const entry of nodes) rmSync(entry.dir, { recursive: true, force: true });
    },
  };
}
