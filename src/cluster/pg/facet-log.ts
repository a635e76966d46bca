import type pg from "pg";
import { treeRange } from "../facet-keys.ts";
import type { ActorHistory } from "../log.ts";
import { inTransaction } from "./pool.ts";
import { quoteLiteral } from "./copy-rows.ts";
import { copyHistoryRows, historiesOf, historySelect } from "./history.ts";
import { checkActorId } from "./leases.ts";
import { clusterTables } from "./schema.ts";

/**
 * The facets' side of the log in Postgres: a root read with every facet below it in one statement
 * (what a node that claims the root rebuilds), and a deleted facet tree's rows removed under the root's lease.
 */

/**
 * What a new owner rebuilds a root from: its history (a snapshot and the changesets after it, as
 * {@link readHistory} gives it) with `facets`, the history of every facet below it by log key. One
 * binary COPY over the root's key and its facets' key range, so a claim costs one statement.
 * @example
 * const tree = await readTreeHistory(pool, "inbox/ada"); // tree.facets: Map { "inbox\u0001ada\u0001t1" => {…} }
 */
export async function readTreeHistory(pool: pg.Pool, rootId: string, schema?: string): Promise<ActorHistory & { facets: Map<string, ActorHistory> }> {
  const t = clusterTables(schema);
  const { from, to } = treeRange(rootId);
  const inTree = (column: string): string => `(${column} = ${quoteLiteral(checkActorId(rootId))} OR (${column} >= ${quoteLiteral(from)} AND ${column} < ${quoteLiteral(to)}))`;
  const rows = await copyHistoryRows(pool, historySelect(t, inTree));
  const histories = historiesOf(rows);
  const own = histories.get(rootId) ?? { changesets: [], head: 0 };
  histories.delete(rootId);
  return { ...own, facets: histories };
}

/**
 * Removes the log rows and snapshots of the facet `key` and of every facet below it, while the root's
 * lease is still at `epoch` (false when it moved on: nothing removed). Safe to run again.
 * @example
 * await removeFacetTree(pool, { key: "inbox\u0001ada\u0001t1", rootId: "inbox/ada", epoch: 4 });
 */
export async function removeFacetTree(pool: pg.Pool, target: { key: string; rootId: string; epoch: number }, schema?: string): Promise<boolean> {
  const t = clusterTables(schema);
  const { from, to } = treeRange(target.key);
  return inTransaction(
    pool,
    async (client) => {
      const lease = await client.query(`SELECT 1 FROM ${t.lease} WHERE actor_id = $1 AND epoch = $2 FOR SHARE`, [target.rootId, target.epoch]);
      if (lease.rowCount === 0) return false;
      for (const table of [t.log, t.snapshot]) {
        await client.query(`DELETE FROM ${table} WHERE actor_id = $1 OR (actor_id >= $2 AND actor_id < $3)`, [target.key, from, to]);
      }
      return true;
    },
    (held) => held,
  );
}
