/**
 * `hearth secret` on a cluster: its store in Postgres, and the data directory's secrets copied into
 * it. The CLI hands these to the command (secrets/command-store.ts `ClusterSecrets`), loading this
 * module — and the Postgres client — only for a command that names a cluster.
 */
import type { ClusterSecrets } from "../../secrets/command-store.ts";
import { createClusterPool } from "../pg/pool.ts";
import { importDataDirSecrets } from "./secret-import.ts";
import { openPostgresSecretStore } from "./secret-store.ts";

/** Each command opens its own small pool and ends it when done. */
export const CLUSTER_SECRETS: ClusterSecrets = {
  async open({ cluster, envName, keyEnv }) {
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
  },
  async importDataDir({ dataDir, envName, keyEnv, cluster, replace }) {
    const pool = createClusterPool({ connectionString: cluster.connectionString, max: 2, applicationName: "hearth-secret" });
    try {
      return await importDataDirSecrets(pool, { dataDir, envName, keyEnv, schema: cluster.schema, replace });
    } finally {
      await pool.end();
    }
  },
};
