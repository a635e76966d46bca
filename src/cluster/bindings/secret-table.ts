import { createHash } from "node:crypto";
import type pg from "pg";
import { inLockedMigration, migrateOnce } from "../pg/locked-migration.ts";
import { clusterTables, DEFAULT_SCHEMA } from "../pg/schema.ts";

/** Quoted, schema-qualified names of the secrets tables, and the channel their writers notify. */
export interface SecretTables {
  readonly schema: string;
  /** One row per secret: `(env, name)` → ciphertext. */
  readonly secrets: string;
  /** At most one row: the fingerprint of the key every stored value was sealed with. */
  readonly key: string;
  /** One row per environment: a counter every write bumps, which the poll compares. */
  readonly generation: string;
  /** The LISTEN/NOTIFY channel (an identifier, safe to splice into `LISTEN`). */
  readonly channel: string;
}

/**
 * The secrets tables of a cluster schema, after checking the schema name (it is spliced into SQL).
 *
 * @example
 * const t = secretTables("hearth");
 * await pool.query(`SELECT env, name FROM ${t.secrets}`);
 */
export function secretTables(schema: string = DEFAULT_SCHEMA): SecretTables {
  const checked = clusterTables(schema).schema;
  const q = (table: string): string => `"${checked}"."${table}"`;
  // A digest, not the schema itself: a channel name is cut at 63 bytes, and two long schemas must not share one.
  const channel = `hearth_secrets_${createHash("sha256").update(checked).digest("hex").slice(0, 16)}`;
  return { schema: checked, secrets: q("secrets"), key: q("secrets_key"), generation: q("secrets_generation"), channel };
}

function ddl(t: SecretTables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS "${t.schema}"`,
    // env is '' for the top-level environment: an environment name is never empty.
    `CREATE TABLE IF NOT EXISTS ${t.secrets} (
       env text COLLATE "C" NOT NULL,
       name text COLLATE "C" NOT NULL,
       value bytea NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (env, name))`,
    // Present exactly while some secret is stored: the writers keep it so, under its row lock.
    `CREATE TABLE IF NOT EXISTS ${t.key} (
       only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
       key_id text NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE IF NOT EXISTS ${t.generation} (
       env text COLLATE "C" PRIMARY KEY,
       generation bigint NOT NULL)`,
  ];
}

/**
 * Creates the secrets tables if missing, in one transaction under a transaction-scoped advisory lock
 * (nodes and `hearth secret` commands starting together do not race). Safe to call on every start.
 *
 * @example
 * await migrateSecrets(pool, { schema: "hearth" });
 */
export async function migrateSecrets(pool: pg.Pool, options: { schema?: string } = {}): Promise<void> {
  const t = secretTables(options.schema);
  await inLockedMigration(pool, `hearth.migrate.secrets.${t.schema}`, async (client) => {
    for (const statement of ddl(t)) await client.query(statement);
  });
}

/** Resolves once the secrets tables exist for this pool and schema, migrating at most once per process. */
export function ensureSecretTables(pool: pg.Pool, schema: string): Promise<void> {
  return migrateOnce(pool, `secrets.${schema}`, () => migrateSecrets(pool, { schema }));
}
