import { openSecretStore, type SecretStore } from "./store.ts";

/** Which cluster a `hearth secret` command works on: `--cluster` / `HEARTH_CLUSTER` and `--schema`. */
export interface CommandCluster {
  connectionString: string;
  schema: string | undefined;
}

/** The store a command changes, and how to let it go. */
export interface CommandStore {
  store: SecretStore;
  inCluster: boolean;
  close(): Promise<void>;
}

/**
 * Opens the data directory's store, or the cluster's when `cluster` is given. The cluster's modules
 * (and the Postgres client) are loaded only then, so a single node's command does not load them. The
 * key is checked by the commands that need it, not here: `list` and `delete` work without one.
 */
export async function openCommandStore(options: { dataDir: string; envName: string | undefined; keyEnv: string | undefined; cluster: CommandCluster | undefined }): Promise<CommandStore> {
  const { dataDir, envName, keyEnv, cluster } = options;
  if (cluster === undefined) return { store: openSecretStore({ dataDir, envName, keyEnv }), inCluster: false, close: async () => {} };
  const [{ createClusterPool }, { openPostgresSecretStore }] = await Promise.all([import("../cluster/pg/pool.ts"), import("../cluster/bindings/secret-store.ts")]);
  const pool = createClusterPool({ connectionString: cluster.connectionString, max: 2, applicationName: "hearth-secret" });
  try {
    const store = await openPostgresSecretStore(pool, { schema: cluster.schema, envName, keyEnv, checkKey: false, watch: false });
    return {
      store,
      inCluster: true,
      close: async () => {
        await store.close();
        await pool.end();
      },
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** `hearth secret import`: the data directory's secrets of one environment copied into the cluster. */
export async function importIntoCluster(options: {
  dataDir: string;
  envName: string | undefined;
  keyEnv: string | undefined;
  cluster: CommandCluster;
  replace: boolean;
}): Promise<{ imported: string[]; kept: string[] }> {
  const [{ createClusterPool }, { importDataDirSecrets }] = await Promise.all([import("../cluster/pg/pool.ts"), import("../cluster/bindings/secret-import.ts")]);
  const pool = createClusterPool({ connectionString: options.cluster.connectionString, max: 2, applicationName: "hearth-secret" });
  try {
    return await importDataDirSecrets(pool, { dataDir: options.dataDir, envName: options.envName, keyEnv: options.keyEnv, schema: options.cluster.schema, replace: options.replace });
  } finally {
    await pool.end();
  }
}
