import type pg from "pg";
import { SecretStoreError } from "../../secrets/errors.ts";
import { openSecretStore, type SecretStore } from "../../secrets/store.ts";
import { openPostgresSecretStore, type PostgresSecretStore } from "./secret-store.ts";

/** What an import did. */
export interface SecretImportResult {
  /** Names written to the cluster. */
  imported: string[];
  /** Names the cluster had already, left as they were (pass `replace` to overwrite them). */
  kept: string[];
}

/**
 * Copies every secret of `source` into `target` in one transaction: each value decrypted with the
 * source's key and sealed again with the cluster's. A name the cluster already holds keeps the
 * cluster's value unless `replace` is set. The source is not changed.
 *
 * @example
 * const result = await importSecrets(openSecretStore({ dataDir: ".hearth" }), clusterSecrets);
 * result.imported; // ["API_KEY", "DB_PASSWORD"]
 */
export async function importSecrets(source: SecretStore, target: PostgresSecretStore, options: { replace?: boolean } = {}): Promise<SecretImportResult> {
  const values = source.all();
  // Decided on a fresh read: the copy may be a poll interval behind.
  await target.refresh();
  const kept = options.replace ? [] : Object.keys(values).filter((name) => target.has(name));
  const skip = new Set(kept);
  const entries = Object.entries(values).filter(([name]) => !skip.has(name));
  const applied = entries.length === 0 ? { saved: [] } : await target.apply(entries);
  return { imported: applied.saved, kept };
}

/** Options of {@link importDataDirSecrets}. */
export interface DataDirImportOptions {
  /** The data directory whose `secrets/` to copy. */
  dataDir: string;
  /** The environment to copy (undefined: the top level); the cluster's environment of the same name receives it. */
  envName?: string;
  /** `HEARTH_SECRET_KEY`, the cluster's key. The data directory's own key is read from it too, or from `<dataDir>/secret.key` when it differs. */
  keyEnv?: string;
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
  /** Overwrite names the cluster already holds (default false: they are kept and reported). */
  replace?: boolean;
}

/**
 * Moves a single node's secrets into its cluster: copies one environment of a data directory into the
 * cluster's Postgres (see {@link importSecrets}). The data directory's secrets are read with
 * `HEARTH_SECRET_KEY` when they were written with it, else with the directory's `secret.key`, so the
 * cluster may use a new key.
 *
 * @example
 * await importDataDirSecrets(pool, { dataDir: ".hearth", envName: "production", keyEnv: process.env.HEARTH_SECRET_KEY });
 */
export async function importDataDirSecrets(pool: pg.Pool, options: DataDirImportOptions): Promise<SecretImportResult> {
  const source = openSource(options);
  const target = await openPostgresSecretStore(pool, { schema: options.schema, envName: options.envName, keyEnv: options.keyEnv, watch: false });
  try {
    return await importSecrets(source, target, { replace: options.replace });
  } finally {
    await target.close();
  }
}

function openSource(options: DataDirImportOptions): SecretStore {
  const withEnvKey = openSecretStore({ dataDir: options.dataDir, envName: options.envName, keyEnv: options.keyEnv });
  try {
    withEnvKey.verifyKey();
    return withEnvKey;
  } catch (error) {
    // The node's secrets were sealed with its key file, the cluster's key is a new one: read them with the file.
    if (error instanceof SecretStoreError && error.code === "KEY_MISMATCH") return openSecretStore({ dataDir: options.dataDir, envName: options.envName });
    throw error;
  }
}
