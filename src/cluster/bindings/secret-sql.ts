import type pg from "pg";
import { inTransaction } from "../pg/pool.ts";
import type { SecretTables } from "./secret-table.ts";

/** What a node holds in memory of one environment: read under one Postgres snapshot. */
export interface SecretSnapshot {
  /** The environment's write counter when read; 0 before the first write. */
  generation: number;
  /** The fingerprint of the cluster's key; null while no secret is stored anywhere in the cluster. */
  keyId: string | null;
  /** Name → `iv ‖ tag ‖ ciphertext`. */
  secrets: ReadonlyMap<string, Buffer>;
}

type SnapshotRow = [number, string | null, Buffer | null, string | null, string | null];

/**
 * Reads an environment's secrets, its generation and the cluster's key fingerprint in one statement,
 * so the three come from one snapshot of the database.
 */
export async function loadSnapshot(pool: pg.Pool, t: SecretTables, env: string): Promise<SecretSnapshot> {
  const { rows } = await pool.query<SnapshotRow>({
    text: `SELECT 0, name, value, NULL::text, NULL::text FROM ${t.secrets} WHERE env = $1
           UNION ALL SELECT 1, NULL, NULL, generation::text, NULL FROM ${t.generation} WHERE env = $1
           UNION ALL SELECT 2, NULL, NULL, NULL, key_id FROM ${t.key}`,
    values: [env],
    rowMode: "array",
  });
  const snapshot = { generation: 0, keyId: null as string | null, secrets: new Map<string, Buffer>() };
  for (const [kind, name, value, generation, keyId] of rows) {
    if (kind === 0) snapshot.secrets.set(name!, value!);
    else if (kind === 1) snapshot.generation = Number(generation);
    else snapshot.keyId = keyId;
  }
  return snapshot;
}

/** The environment's generation alone: what the poll reads to tell whether anything changed. */
export async function readGeneration(pool: pg.Pool, t: SecretTables, env: string): Promise<number> {
  const { rows } = await pool.query<[string]>({ text: `SELECT generation::text FROM ${t.generation} WHERE env = $1`, values: [env], rowMode: "array" });
  return rows[0] === undefined ? 0 : Number(rows[0][0]);
}

/** One write: values already sealed, names distinct between `puts` and `deletes`. */
export interface SecretWrite {
  env: string;
  puts: ReadonlyMap<string, Buffer>;
  deletes: readonly string[];
  /** The fingerprint of the key the puts were sealed with; required when there are puts. */
  keyId: string | undefined;
}

/** What the transaction found: the names it deleted, or the stored key fingerprint that refused the puts. */
export type SecretWriteOutcome = { ok: true; deleted: string[] } | { ok: false; storedKeyId: string };

/**
 * Applies a write in one transaction. Every writer first locks the key row (when there is one), so
 * writers run one at a time and the key row stays present exactly while a secret is stored: the
 * first put records its key, a put under another key is refused (nothing written), and the delete of
 * the last secret of the cluster removes it, so the next put may start over with another key. A
 * change bumps the environment's generation and notifies the channel, in the same transaction.
 */
export async function writeSecrets(pool: pg.Pool, t: SecretTables, write: SecretWrite): Promise<SecretWriteOutcome> {
  return inTransaction(pool, (client) => writeInTransaction(client, t, write), (outcome) => outcome.ok);
}

async function writeInTransaction(client: pg.PoolClient, t: SecretTables, write: SecretWrite): Promise<SecretWriteOutcome> {
  const lockKey = async (): Promise<string | undefined> =>
    (await client.query<[string]>({ text: `SELECT key_id FROM ${t.key} FOR UPDATE`, rowMode: "array" })).rows[0]?.[0];
  let stored = await lockKey();
  if (write.puts.size > 0) {
    if (stored === undefined) {
      // Another first put may be inserting too: the loser waits for it, does nothing, and reads its key.
      await client.query(`INSERT INTO ${t.key} (key_id) VALUES ($1) ON CONFLICT (only_row) DO NOTHING`, [write.keyId]);
      stored = await lockKey();
    }
    if (stored !== write.keyId) {
      // Left over with no secret (the table emptied by hand): the key may change, as after the last delete.
      const { rows } = await client.query(`SELECT 1 FROM ${t.secrets} LIMIT 1`);
      if (rows.length > 0) return { ok: false, storedKeyId: stored! };
      await client.query(`UPDATE ${t.key} SET key_id = $1, updated_at = now()`, [write.keyId]);
    }
  }
  const deleted =
    write.deletes.length === 0
      ? []
      : (await client.query<[string]>({ text: `DELETE FROM ${t.secrets} WHERE env = $1 AND name = ANY($2::text[]) RETURNING name`, values: [write.env, write.deletes], rowMode: "array" })).rows.map(
          ([name]) => name,
        );
  if (write.puts.size > 0) {
    await client.query(
      `INSERT INTO ${t.secrets} (env, name, value) SELECT $1, n, v FROM unnest($2::text[], $3::bytea[]) AS batch(n, v)
       ON CONFLICT (env, name) DO UPDATE SET value = excluded.value, updated_at = now()`,
      [write.env, [...write.puts.keys()], [...write.puts.values()]],
    );
  }
  if (deleted.length > 0 && write.puts.size === 0) {
    await client.query(`DELETE FROM ${t.key} WHERE NOT EXISTS (SELECT 1 FROM ${t.secrets})`);
  }
  if (write.puts.size > 0 || deleted.length > 0) {
    const { rows } = await client.query<[string]>({
      text: `INSERT INTO ${t.generation} AS g (env, generation) VALUES ($1, 1)
             ON CONFLICT (env) DO UPDATE SET generation = g.generation + 1 RETURNING generation::text`,
      values: [write.env],
      rowMode: "array",
    });
    // Delivered at commit, to every node listening; the payload says which environment changed.
    await client.query("SELECT pg_notify($1, $2)", [t.channel, `${write.env}:${rows[0]![0]}`]);
  }
  return { ok: true, deleted };
}
