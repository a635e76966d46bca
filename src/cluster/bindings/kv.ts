import type pg from "pg";
import { KvNamespace } from "../../kv/namespace.ts";
import { DEFAULT_SCHEMA } from "../pg/schema.ts";
import { systemClock, type Clock } from "../../time/clock.ts";
import { PostgresKvStore } from "./kv-store.ts";

/** Options of {@link openPostgresKvNamespace}. */
export interface PostgresKvNamespaceOptions {
  /** Time source for expirations; default the system clock. Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
}

/**
 * A Workers KV namespace kept in the cluster's Postgres (table `<schema>.kv_entries`), so every node
 * that opens the same `namespaceId` sees the same keys. Same API, limits and error texts as the
 * SQLite-backed namespace. The table is created on first use if missing. `close()` stops the purge;
 * writes already made still commit: await {@link settlePostgresKvWrites} before ending the pool.
 *
 * @example
 * const pool = createClusterPool({ connectionString: "postgres://hearth@db/hearth" });
 * const kv = openPostgresKvNamespace(pool, "4f1c…", { schema: "hearth" });
 * await kv.put("user:1", "Ada");
 * await kv.get("user:1"); // "Ada", on this node and every other
 * kv.close();
 * await settlePostgresKvWrites();
 * await pool.end();
 */
export function openPostgresKvNamespace<Key extends string = string>(
  pool: pg.Pool,
  namespaceId: string,
  options: PostgresKvNamespaceOptions = {},
): KvNamespace<Key> {
  const backend = new PostgresKvStore({ pool, namespace: namespaceId, schema: options.schema ?? DEFAULT_SCHEMA, clock: options.clock ?? systemClock });
  return new KvNamespace<Key>({ backend });
}
