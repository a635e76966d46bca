/** Platform bindings shared by every node of a cluster, kept in the cluster's Postgres. */
export { openPostgresKvNamespace, type PostgresKvNamespaceOptions } from "./kv.ts";
export { PostgresKvStore, type PostgresKvStoreOptions } from "./kv-store.ts";
export { MAX_BATCH_BYTES, settlePostgresKvWrites } from "./kv-writes.ts";
export { migrateKv, kvTableName, type KvTableOptions } from "./kv-table.ts";
export { KV_PURGE_INTERVAL_MS } from "./kv-purge.ts";
export { openPostgresSecretStore, SECRET_POLL_INTERVAL_MS, type PostgresSecretStore, type PostgresSecretStoreOptions } from "./secret-store.ts";
export { importDataDirSecrets, importSecrets, type DataDirImportOptions, type SecretImportResult } from "./secret-import.ts";
export { migrateSecrets, secretTables, type SecretTables } from "./secret-table.ts";
export { SECRET_LISTEN_RETRY_MS } from "./secret-watch.ts";
export { openPostgresQueueStore, type PostgresQueueOptions } from "./queue.ts";
export { PostgresQueueStore, QUEUE_LEASE_MS, QUEUE_POLL_MS, type PostgresQueueStoreOptions } from "./queue-store.ts";
export { migrateQueues, queueTableName, queueCountsTableName, queueChannel, type QueueTableOptions } from "./queue-table.ts";
