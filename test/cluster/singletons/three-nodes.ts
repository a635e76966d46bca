import type pg from "pg";
import { createClusterPool, migrate } from "../../../src/cluster/pg/index.ts";
import { sharedPostgres } from "../../support/postgres.ts";

/** A migrated cluster database of its own with three live node rows (a, b, c) and no processes behind them. */
export async function threeNodeRows(database: string): Promise<pg.Pool> {
  const pool = createClusterPool({ connectionString: await (await sharedPostgres()).database(database) });
  await migrate(pool);
  await pool.query(`INSERT INTO hearth.nodes (node_id, address, incarnation, state, heartbeat_at, joined_at)
    VALUES ('a', 'http://a', 1, 'alive', now(), now()), ('b', 'http://b', 1, 'alive', now(), now()), ('c', 'http://c', 1, 'alive', now(), now())`);
  return pool;
}
