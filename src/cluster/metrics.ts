import type pg from "pg";
import { mergeExpositions } from "../observability/metrics/merge.ts";
import { clusterTables } from "./pg/schema.ts";
import { CLUSTER_HEADERS, CLUSTER_PATH_PREFIX } from "./wire.ts";

/** Where a node answers with its own metrics, for the node gathering them (under the cluster key). */
export const METRICS_PATH = `${CLUSTER_PATH_PREFIX}metrics`;

/** How long the gathering node waits for another's metrics before leaving it out. */
export const METRICS_GATHER_TIMEOUT_MS = 2_000;

export interface GatherOptions {
  pool: pg.Pool;
  schema: string;
  nodeId: string;
  key: string;
  /** This node's own exposition. */
  local: () => string;
}

/**
 * The whole cluster's metrics as one exposition: this node's and every other live node's (asked over
 * HTTP under the cluster key, in parallel), each sample labelled `node="<id>"`. A node that does not
 * answer within {@link METRICS_GATHER_TIMEOUT_MS} is left out and counted in
 * `hearth_cluster_metrics_missing_nodes`.
 * @example
 * const text = await gatherClusterMetrics({ pool, schema: "hearth", nodeId: "a", key, local: () => metrics.expose() });
 */
export async function gatherClusterMetrics(options: GatherOptions): Promise<string> {
  const { rows } = await options.pool.query<{ node_id: string; address: string }>(
    `SELECT node_id, address FROM ${clusterTables(options.schema).nodes} WHERE state IN ('alive', 'draining') ORDER BY node_id`,
  );
  const others = rows.filter((row) => row.node_id !== options.nodeId);
  const answers = await Promise.all(
    others.map(async (row) => {
      try {
        const response = await fetch(new URL(METRICS_PATH, row.address), {
          headers: { [CLUSTER_HEADERS.key]: options.key },
          signal: AbortSignal.timeout(METRICS_GATHER_TIMEOUT_MS),
        });
        if (!response.ok) throw new Error(`answered ${response.status}`);
        return { label: row.node_id, text: await response.text() };
      } catch {
        return undefined;
      }
    }),
  );
  const sources = [{ label: options.nodeId, text: options.local() }, ...answers.filter((answer) => answer !== undefined)];
  const missing = answers.filter((answer) => answer === undefined).length;
  const summary =
    "# HELP hearth_cluster_metrics_missing_nodes Live nodes whose metrics this exposition lacks (they did not answer in time).\n" +
    "# TYPE hearth_cluster_metrics_missing_nodes gauge\n" +
    `hearth_cluster_metrics_missing_nodes ${missing}\n`;
  return mergeExpositions(sources, "node") + summary;
}
