import type pg from "pg";
import { inLockedMigration } from "./locked-migration.ts";

/**
 * The cluster's tables in Postgres (docs/cluster/postgres.md): node membership, actor leases, the
 * per-actor log and its snapshots. They live in one Postgres schema, so one database can hold several
 * clusters (tests do) and the tables never collide with an application's own.
 */

/** The Postgres schema used when none is named. */
export const DEFAULT_SCHEMA = "hearth";

/** The layout version this code writes; {@link migrate} refuses a database already at a newer one. */
export const SCHEMA_VERSION = 1;

/** A schema name: lowercase identifier, at most 63 bytes (Postgres's NAMEDATALEN − 1). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where `kind` of a log row says what the row holds (smallint in `actor_log.kind`). */
export const LOG_KIND = { changeset: 0, epoch_start: 2 } as const;

/** Options shared by everything that names the cluster's tables. */
export interface SchemaOptions {
  /** The Postgres schema holding the tables; default {@link DEFAULT_SCHEMA}. */
  schema?: string;
}

/** Fully qualified, quoted table names of one cluster's schema. */
export interface ClusterTables {
  readonly schema: string;
  readonly nodes: string;
  readonly lease: string;
  readonly log: string;
  readonly snapshot: string;
  readonly version: string;
  /** Each actor's next wake, for the nodes that take over a dead node's agents (src/cluster/pg/due.ts). */
  readonly due: string;
  /** Settings every node reads: the key nodes present to each other (src/cluster/key.ts). */
  readonly settings: string;
  /** Cron runs claimed by a node, one row per trigger and scheduled time (src/cluster/singletons/cron-gate.ts). */
  readonly cronClaims: string;
  /** Which node incarnations keep which service kinds held (src/cluster/kept-services.ts): only they are handed those services. */
  readonly keptServices: string;
}

/**
 * The quoted table names for a schema, after checking the name (it is spliced into SQL text).
 *
 * @example
 * const t = clusterTables("hearth");
 * await pool.query(`SELECT count(*) FROM ${t.nodes}`);
 */
export function clusterTables(schema: string = DEFAULT_SCHEMA): ClusterTables {
  if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
    throw new Error(`cluster schema name ${JSON.stringify(schema)} is not a lowercase identifier of at most 63 characters ([a-z_][a-z0-9_]*)`);
  }
  const q = (table: string): string => `"${schema}"."${table}"`;
  return {
    schema,
    nodes: q("nodes"),
    lease: q("actor_lease"),
    log: q("actor_log"),
    snapshot: q("actor_snapshot"),
    version: q("schema_version"),
    due: q("actor_due"),
    settings: q("cluster_settings"),
    cronClaims: q("cron_claims"),
    keptServices: q("kept_services"),
  };
}

function ddl(t: ClusterTables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS "${t.schema}"`,
    `CREATE TABLE IF NOT EXISTS ${t.version} (
       only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
       version integer NOT NULL)`,
    // One row per node; heartbeat_at is Postgres's clock, never a node's.
    `CREATE TABLE IF NOT EXISTS ${t.nodes} (
       node_id text PRIMARY KEY,
       address text NOT NULL,
       incarnation bigint NOT NULL,
       state text NOT NULL CHECK (state IN ('alive', 'draining', 'dead', 'left')),
       heartbeat_at timestamptz NOT NULL,
       joined_at timestamptz NOT NULL)`,
    // The lease belongs to one incarnation of a node: a restarted node does not inherit it silently.
    `CREATE TABLE IF NOT EXISTS ${t.lease} (
       actor_id text PRIMARY KEY,
       owner text,
       owner_incarnation bigint,
       epoch bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS actor_lease_owner ON ${t.lease} (owner) WHERE owner IS NOT NULL`,
    // digest = sha-256 of payload: resolves a commit whose reply was lost (ours, or someone else's row).
    // actor_id in byte order ("C"): a root's facets are one range of the primary key (facet-keys.ts).
    `CREATE TABLE IF NOT EXISTS ${t.log} (
       actor_id text COLLATE "C" NOT NULL,
       seq bigint NOT NULL,
       epoch bigint NOT NULL,
       kind smallint NOT NULL,
       payload bytea NOT NULL,
       digest bytea NOT NULL,
       PRIMARY KEY (actor_id, seq))`,
    `CREATE TABLE IF NOT EXISTS ${t.snapshot} (
       actor_id text COLLATE "C" PRIMARY KEY,
       seq bigint NOT NULL,
       epoch bigint NOT NULL,
       image bytea NOT NULL,
       digest bytea NOT NULL)`,
    // An actor's next wake, written by its owner under its lease epoch; scanned for dead owners' actors.
    `CREATE TABLE IF NOT EXISTS ${t.due} (
       actor_id text PRIMARY KEY,
       due_at timestamptz NOT NULL,
       owner_epoch bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS actor_due_at ON ${t.due} (due_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.settings} (name text PRIMARY KEY, value text NOT NULL)`,
    // Made here, so that a joining node's locking read of it always finds it (see PRUNED_INCARNATION_SETTING).
    `INSERT INTO ${t.settings} (name, value) VALUES ('${PRUNED_INCARNATION_SETTING}', '0') ON CONFLICT (name) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${t.cronClaims} (
       cron text NOT NULL,
       scheduled_time bigint NOT NULL,
       node_id text NOT NULL,
       claimed_at timestamptz NOT NULL DEFAULT now(),
       done boolean NOT NULL DEFAULT false,
       PRIMARY KEY (cron, scheduled_time))`,
    `CREATE TABLE IF NOT EXISTS ${t.keptServices} (
       node_id text NOT NULL,
       kind text NOT NULL,
       incarnation bigint NOT NULL,
       PRIMARY KEY (node_id, kind))`,
  ];
}

/** Columns added to a table after it first shipped (existing databases get them at their next migrate). */
const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; definition: string }> = [
  // Each node's own TTL: it is declared dead when its heartbeat is older than that, whichever node
  // reaps. Rows of nodes that never set it (older versions) count the default TTL.
  { table: "nodes", column: "ttl_ms", definition: "integer NOT NULL DEFAULT 3000" },
];

/**
 * Creates the cluster's tables if missing, in one transaction under a transaction-scoped advisory
 * lock, so nodes starting together do not race on `CREATE … IF NOT EXISTS`. Safe to call on every
 * start. Throws when the database was written by a newer Hearth (its schema version is higher).
 *
 * @example
 * const pool = new pg.Pool({ connectionString: "postgres://hearth@db/hearth" });
 * await migrate(pool, { schema: "hearth" });
 */
/**
 * The `settings` row keeping the highest incarnation of any node row pruned (prune.ts): a node id that
 * joins again after its row went starts above it, so an incarnation is never reused (a lease, a kept
 * service or a paused process of the old incarnation can never pass for the new one).
 */
export const PRUNED_INCARNATION_SETTING = "pruned_incarnation";

export async function migrate(pool: pg.Pool, options: SchemaOptions = {}): Promise<void> {
  const t = clusterTables(options.schema);
  await inLockedMigration(pool, `hearth.migrate.${t.schema}`, async (client) => {
    for (const statement of ddl(t)) await client.query(statement);
    // Columns added since a table was first made, each only where missing: an ALTER TABLE locks the
    // table whole even when it changes nothing, and joined nodes renew their rows all the time.
    for (const { table, column, definition } of ADDED_COLUMNS) {
      const { rows: found } = await client.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`, [t.schema, table, column]);
      if (found.length === 0) await client.query(`ALTER TABLE "${t.schema}"."${table}" ADD COLUMN ${column} ${definition}`);
    }
    // lz4 where the server has it: pglz spent seconds compressing a large image on every snapshot.
    const { rows: lz4 } = await client.query(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`);
    if (lz4.length > 0) await client.query(`ALTER TABLE ${t.snapshot} ALTER COLUMN image SET COMPRESSION lz4`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${t.version}`);
    const found = rows[0]?.version;
    if (found !== undefined && found > SCHEMA_VERSION) {
      throw new Error(
        `cluster schema "${t.schema}" is at version ${found}, newer than this Hearth's ${SCHEMA_VERSION}: upgrade Hearth on this node (the tables were left unchanged)`,
      );
    }
    await client.query(`INSERT INTO ${t.version} (version) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET version = excluded.version`, [SCHEMA_VERSION]);
  });
}
