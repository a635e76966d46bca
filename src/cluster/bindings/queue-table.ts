import { createHash } from "node:crypto";
import type pg from "pg";
import { inLockedMigration, migrateOnce } from "../pg/locked-migration.ts";
import { clusterTables, DEFAULT_SCHEMA } from "../pg/schema.ts";

/**
 * The table holding every queue's messages in a cluster: one row per message not yet acknowledged, in
 * the cluster's Postgres schema. `available_at` (ms) is when a row may next be delivered: its visible
 * time while it waits, its lease deadline while a node holds it (`lease` names the holder's batch).
 * A lease that lapses makes the row deliverable again, by any node.
 */
export interface QueueTableOptions {
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
}

/** The quoted, schema-qualified name of the queue table, after checking the schema name. */
export function queueTableName(schema: string = DEFAULT_SCHEMA): string {
  return `"${clusterTables(schema).schema}"."queue_messages"`;
}

/**
 * The quoted name of the backlog counters: per queue, one row per store that changed it (each adds its
 * own changes to its own row, so nodes never wait for each other's), folded together hourly. A
 * queue's backlog is the sum of its rows, kept in the same transactions as the messages.
 */
export function queueCountsTableName(schema: string = DEFAULT_SCHEMA): string {
  return `"${clusterTables(schema).schema}"."queue_counts"`;
}

/**
 * The LISTEN/NOTIFY channel of a cluster's queues (payload: the queue's name). One per schema, so
 * clusters sharing a database do not wake each other; a digest when the name would pass Postgres's
 * 63-byte limit.
 */
export function queueChannel(schema: string = DEFAULT_SCHEMA): string {
  const name = `hearth_queues_${clusterTables(schema).schema}`;
  return name.length <= 63 ? name : `hearth_queues_${createHash("sha256").update(schema).digest("hex").slice(0, 32)}`;
}

function ddl(schema: string): string[] {
  const table = queueTableName(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
    `CREATE TABLE IF NOT EXISTS ${table} (
       seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       queue text NOT NULL,
       id text NOT NULL,
       content_type text NOT NULL,
       body bytea NOT NULL,
       size integer NOT NULL,
       sent_at bigint NOT NULL,
       available_at bigint NOT NULL,
       attempts integer NOT NULL DEFAULT 0,
       lease text,
       traceparent text)`,
    // Ready messages of a queue, oldest first; its first entry is also the queue's next wake.
    `CREATE INDEX IF NOT EXISTS queue_messages_available ON ${table} (queue, available_at, seq)`,
    // The oldest message of a queue (metrics) and the retention purge.
    `CREATE INDEX IF NOT EXISTS queue_messages_age ON ${table} (queue, sent_at)`,
    // Renewal of a node's leases, and settles that check the lease.
    `CREATE INDEX IF NOT EXISTS queue_messages_lease ON ${table} (lease) WHERE lease IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${queueCountsTableName(schema)} (
       queue text NOT NULL,
       writer text NOT NULL,
       messages bigint NOT NULL,
       bytes bigint NOT NULL,
       PRIMARY KEY (queue, writer))`,
  ];
}

/**
 * Creates the queue table if missing, in one transaction under a transaction-scoped advisory lock, so
 * nodes starting together do not race on `CREATE … IF NOT EXISTS`. Safe to call on every start.
 *
 * @example
 * await migrateQueues(pool, { schema: "hearth" });
 */
export async function migrateQueues(pool: pg.Pool, options: QueueTableOptions = {}): Promise<void> {
  const schema = clusterTables(options.schema).schema;
  await inLockedMigration(pool, `hearth.migrate.queues.${schema}`, async (client) => {
    for (const statement of ddl(schema)) await client.query(statement);
  });
}

/** Resolves once the queue table exists for this pool and schema, migrating at most once per process. */
export function ensureQueueTable(pool: pg.Pool, schema: string): Promise<void> {
  return migrateOnce(pool, `queues.${schema}`, () => migrateQueues(pool, { schema }));
}
