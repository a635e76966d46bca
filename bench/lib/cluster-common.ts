/**
 * Shared pieces of the cluster benchmarks (bench/cluster-*.ts): a real Postgres (Debian's, started by
 * test/support/postgres.ts), a fresh cluster schema on it, lease rows made in bulk, Postgres' WAL
 * position and size, and the load-average note every figure carries (the machine is shared).
 */
import { loadavg } from "node:os";
import pg from "pg";
import { createClusterPool, migrate } from "../../dist/cluster/pg/index.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/support/postgres.ts";

export { postgresUnavailable, type TestPostgres };

/** Load average over 1 / 5 minutes, as a note next to a figure: other work shares these 2 cores. */
export function loadNote(): string {
  const [one, five] = loadavg();
  return `load avg ${one!.toFixed(1)}/${five!.toFixed(1)}`;
}

/** A Postgres server and one database on it; `durable` keeps fsync and synchronous_commit on. */
export interface BenchPostgres {
  server: TestPostgres;
  url: string;
  stop(): void;
}

export async function startBenchPostgres(durable: boolean, database = "bench"): Promise<BenchPostgres> {
  const server = await startPostgres({ durable });
  const url = await server.database(database);
  return { server, url, stop: () => server.stop() };
}

let schemas = 0;

/** A cluster pool on `url` with a freshly migrated schema of its own (one per measured run). */
export async function freshCluster(url: string, max = 8): Promise<{ pool: pg.Pool; schema: string }> {
  const pool = createClusterPool({ connectionString: url, max, applicationName: "hearth-bench" });
  const schema = `bench_${process.pid}_${++schemas}`;
  await migrate(pool, { schema });
  return { pool, schema };
}

/**
 * Lease rows for `actorIds`, owned by `owner` at epoch 1, with their epoch_start markers at seq 1, in
 * one statement per 10,000 actors: what a claim leaves behind, made in bulk (the claim path is not
 * what these figures measure). The first append of each actor then takes seq 2 under epoch 1.
 */
export async function leaseInBulk(pool: pg.Pool, schema: string, actorIds: readonly string[], owner = "bench", incarnation = 1): Promise<void> {
  for (let i = 0; i < actorIds.length; i += 10_000) {
    const part = actorIds.slice(i, i + 10_000);
    await pool.query(
      `WITH ids AS (SELECT unnest($1::text[]) AS actor_id),
            lease AS (INSERT INTO ${schema}.actor_lease (actor_id, owner, owner_incarnation, epoch)
                      SELECT actor_id, $2, $3, 1 FROM ids RETURNING actor_id)
       INSERT INTO ${schema}.actor_log (actor_id, seq, epoch, kind, payload, digest)
       SELECT actor_id, 1, 1, 2, '', sha256('') FROM lease`,
      [part, owner, incarnation],
    );
  }
}

/** Postgres' current WAL insert position, as bytes from the start (a pg_lsn difference). */
export async function walPosition(pool: pg.Pool): Promise<bigint> {
  const { rows } = await pool.query<{ bytes: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS bytes");
  return BigInt(rows[0]!.bytes.split(".")[0]!);
}

/** Bytes of a cluster schema's tables (with indexes and TOAST), and of the whole database. */
export async function clusterSize(pool: pg.Pool, schema: string): Promise<{ tables: Record<string, number>; database: number }> {
  const { rows } = await pool.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [schema],
  );
  const { rows: db } = await pool.query<{ bytes: string }>("SELECT pg_database_size(current_database())::text AS bytes");
  return { tables: Object.fromEntries(rows.map((row) => [row.name, Number(row.bytes)])), database: Number(db[0]!.bytes) };
}

/** Sorted copy, for percentiles. */
export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
