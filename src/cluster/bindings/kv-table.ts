import type pg from "pg";
import { inLockedMigration, migrateOnce } from "../pg/locked-migration.ts";
import { clusterTables, DEFAULT_SCHEMA } from "../pg/schema.ts";

/**
 * The table that holds every KV namespace of a cluster: one row per key, in the cluster's Postgres
 * schema beside the node and actor tables. Keys use the "C" collation, so `ORDER BY key` and the range
 * scans of `list` follow UTF-8 byte order, as Cloudflare's KV (and the SQLite store) do.
 */
export interface KvTableOptions {
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
}

/** The quoted, schema-qualified name of the KV table, after checking the schema name. */
export function kvTableName(schema: string = DEFAULT_SCHEMA): string {
  return `"${clusterTables(schema).schema}"."kv_entries"`;
}

function ddl(schema: string): string[] {
  const table = kvTableName(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
    `CREATE TABLE IF NOT EXISTS ${table} (
       namespace text NOT NULL,
       key text COLLATE "C" NOT NULL,
       value bytea NOT NULL,
       expiration bigint,
       metadata text,
       PRIMARY KEY (namespace, key))`,
    // The purge finds a namespace's expired keys without reading its live ones.
    `CREATE INDEX IF NOT EXISTS kv_entries_expiration ON ${table} (namespace, expiration) WHERE expiration IS NOT NULL`,
  ];
}

/**
 * Creates the KV table if missing, in one transaction under a transaction-scoped advisory lock, so
 * nodes starting together do not race on `CREATE … IF NOT EXISTS`. Safe to call on every start.
 *
 * @example
 * await migrateKv(pool, { schema: "hearth" });
 */
export async function migrateKv(pool: pg.Pool, options: KvTableOptions = {}): Promise<void> {
  const schema = clusterTables(options.schema).schema;
  await inLockedMigration(pool, `hearth.migrate.kv.${schema}`, async (client) => {
    for (const statement of ddl(schema)) await client.query(statement);
  });
}

/**
 * Resolves once the KV table exists for this pool and schema, migrating at most once per process
 * (namespaces opened on the same pool share the promise).
 */
export function ensureKvTable(pool: pg.Pool, schema: string): Promise<void> {
  return migrateOnce(pool, `kv.${schema}`, () => migrateKv(pool, { schema }));
}
