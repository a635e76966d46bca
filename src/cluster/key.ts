import { randomBytes } from "node:crypto";
import type pg from "pg";
import { clusterTables } from "./pg/schema.ts";

/**
 * The key nodes present to each other (src/cluster/internal-routes.ts): made once, at random, by the
 * first node, and kept in Postgres (after `migrate`), so every node with the connection string has it
 * and nobody configures it. Whoever can read the cluster's database can already do anything to its agents.
 * @example
 * const key = await clusterKey(pool, "hearth");
 */
export async function clusterKey(pool: pg.Pool, schema: string): Promise<string> {
  const { settings } = clusterTables(schema);
  await pool.query(`INSERT INTO ${settings} (name, value) VALUES ('node_key', $1) ON CONFLICT (name) DO NOTHING`, [randomBytes(32).toString("base64url")]);
  const { rows } = await pool.query<{ value: string }>(`SELECT value FROM ${settings} WHERE name = 'node_key'`);
  return rows[0]!.value;
}
