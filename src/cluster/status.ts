import type pg from "pg";
import { clusterTables } from "./pg/schema.ts";

/** One node as `hearth cluster status` shows it. */
export interface NodeStatus {
  nodeId: string;
  address: string;
  state: "alive" | "draining" | "dead" | "left";
  incarnation: number;
  /** Seconds since its last heartbeat, by Postgres's clock. */
  heartbeatAgeSeconds: number;
  /** Its lease TTL: declared dead once its heartbeat is older than this (each node its own). */
  ttlSeconds: number;
  /** Agents whose lease this incarnation holds. */
  agents: number;
  /** Services it holds (`~kind/name`: D1 databases, workflow partitions). */
  services: number;
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  /** Agents the cluster has ever held (lease rows). */
  agents: number;
  /** Services the cluster has ever held (D1 databases, workflow partitions). */
  services: number;
  /** Agents whose owner is gone (dead, left or restarted): the next event for one claims it. */
  orphaned: number;
  /** Log entries and snapshots kept in Postgres. */
  logEntries: number;
  snapshots: number;
}

/**
 * Reads the cluster's state from Postgres alone (no node needs to answer): nodes, the agents each
 * holds, how long since each was heard from.
 * @example
 * const status = await readClusterStatus(pool, "hearth");
 * for (const node of status.nodes) console.log(node.nodeId, node.state, node.agents);
 */
export async function readClusterStatus(pool: pg.Pool | pg.Client, schema?: string): Promise<ClusterStatus> {
  const t = clusterTables(schema);
  // Services' ids start with "~" (src/cluster/services.ts), which no agent's does.
  const nodes = await pool.query<{ node_id: string; address: string; state: NodeStatus["state"]; incarnation: string; age: number; ttl_ms: number; agents: string; services: string }>(
    `SELECT n.node_id, n.address, n.state, n.incarnation, extract(epoch FROM now() - n.heartbeat_at)::float8 AS age, n.ttl_ms,
            count(l.actor_id) FILTER (WHERE l.actor_id NOT LIKE '~%') AS agents,
            count(l.actor_id) FILTER (WHERE l.actor_id LIKE '~%') AS services
       FROM ${t.nodes} n LEFT JOIN ${t.lease} l ON l.owner = n.node_id AND l.owner_incarnation = n.incarnation
      GROUP BY n.node_id ORDER BY n.node_id`,
  );
  const totals = await pool.query<{ agents: string; services: string; orphaned: string; log: string; snapshots: string }>(
    `SELECT (SELECT count(*) FROM ${t.lease} WHERE actor_id NOT LIKE '~%') AS agents,
            (SELECT count(*) FROM ${t.lease} WHERE actor_id LIKE '~%') AS services,
            (SELECT count(*) FROM ${t.lease} l LEFT JOIN ${t.nodes} n ON n.node_id = l.owner
              WHERE l.actor_id NOT LIKE '~%' AND (l.owner IS NULL OR n.state IS DISTINCT FROM 'alive' AND n.state IS DISTINCT FROM 'draining' OR n.incarnation <> l.owner_incarnation)) AS orphaned,
            (SELECT count(*) FROM ${t.log}) AS log,
            (SELECT count(*) FROM ${t.snapshot}) AS snapshots`,
  );
  const row = totals.rows[0]!;
  return {
    nodes: nodes.rows.map((node) => ({
      nodeId: node.node_id,
      address: node.address,
      state: node.state,
      incarnation: Number(node.incarnation),
      // now() is when this statement began: a heartbeat written since reads as slightly negative.
      heartbeatAgeSeconds: Math.max(0, node.age),
      ttlSeconds: node.ttl_ms / 1000,
      agents: Number(node.agents),
      services: Number(node.services),
    })),
    agents: Number(row.agents),
    services: Number(row.services),
    orphaned: Number(row.orphaned),
    logEntries: Number(row.log),
    snapshots: Number(row.snapshots),
  };
}

/** The status as a table for people. */
export function formatClusterStatus(status: ClusterStatus): string {
  const header = ["node", "state", "agents", "services", "heartbeat", "ttl", "incarnation", "address"];
  const rows = status.nodes.map((node) => [
    node.nodeId,
    node.state,
    String(node.agents),
    String(node.services),
    `${node.heartbeatAgeSeconds.toFixed(1)} s ago`,
    `${node.ttlSeconds} s`,
    String(node.incarnation),
    node.address,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  const summary = `${status.agents} agent(s) registered, ${status.orphaned} waiting for a new owner; ${status.services} service(s) (D1 databases, workflow partitions); ${status.logEntries} log entries, ${status.snapshots} snapshot(s) in Postgres`;
  return [line(header), ...rows.map(line), "", summary].join("\n") + "\n";
}
