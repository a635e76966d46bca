import type pg from "pg";
import { inTransaction } from "./pool.ts";

/**
 * Runs `migrate` in one transaction under a transaction-scoped advisory lock named `lockName`, so
 * nodes starting together do not race on `CREATE … IF NOT EXISTS`; rolls back if it throws.
 * @example
 * await inLockedMigration(pool, "hearth.migrate.hearth", async (client) => client.query("CREATE TABLE IF NOT EXISTS …"));
 */
export async function inLockedMigration(pool: pg.Pool, lockName: string, migrate: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  await inTransaction(pool, async (client) => {
    // Waits for another node's migration: longer than a statement's usual bound.
    await client.query({ text: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", values: [lockName], query_timeout: MIGRATION_LOCK_TIMEOUT_MS } as pg.QueryConfig);
    await migrate(client);
  });
}

/** How long a migration waits for another node's migration of the same tables. */
export const MIGRATION_LOCK_TIMEOUT_MS = 60_000;

/** Migrations begun in this process, by pool and name; a failed one is forgotten so the next caller tries again. */
const begun = new WeakMap<pg.Pool, Map<string, Promise<void>>>();

/**
 * Runs `migrate` at most once per pool and `name` in this process (every caller shares its promise),
 * so the bindings opened on one pool (KV namespaces, queues, secrets) migrate their tables once.
 * @example
 * await migrateOnce(pool, `kv.${schema}`, () => migrateKv(pool, { schema }));
 */
export function migrateOnce(pool: pg.Pool, name: string, migrate: () => Promise<void>): Promise<void> {
  let byName = begun.get(pool);
  if (byName === undefined) begun.set(pool, (byName = new Map()));
  let migration = byName.get(name);
  if (migration === undefined) {
    const started = migrate();
    migration = started;
    byName.set(name, started);
    started.catch(() => {
      if (byName.get(name) === started) byName.delete(name);
    });
  }
  return migration;
}
