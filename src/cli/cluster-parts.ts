/**
 * What `hearth start --cluster` wires around its host, in one module that server.ts loads only with
 * `--cluster`: a server without it needs none of the cluster's code nor the Postgres client.
 * @module
 */
export { ClusterNode } from "../cluster/node.ts";
export { createClusterPool, redacted } from "../cluster/pg/pool.ts";
export { clusterCronGate } from "../cluster/singletons/cron-gate.ts";
export { openPostgresKvNamespace, openPostgresQueueStore, openPostgresSecretStore, settlePostgresKvWrites } from "../cluster/bindings/index.ts";
export { clusterD1 } from "../cluster/bindings/d1.ts";
export { clusterWorkflows } from "../cluster/workflows.ts";
export { clusterInspectorView } from "../cluster/inspector-view.ts";
export { withInspectorRoute } from "../cluster/internal-routes.ts";
