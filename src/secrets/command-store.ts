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
 * How a command reaches a cluster's secrets (cluster/bindings/secret-command.ts). Given by the
 * caller, so that this folder loads nothing of the cluster, and a single node's command nothing of
 * Postgres.
 */
export interface ClusterSecrets {
  /** The cluster's store. The key is checked by the commands that need it: `list` and `delete` work without one. */
  open(options: { cluster: CommandCluster; envName: string | undefined; keyEnv: string | undefined }): Promise<CommandStore>;
  /** `hearth secret import`: the data directory's secrets of one environment copied into the cluster. */
  importDataDir(options: { dataDir: string; envName: string | undefined; keyEnv: string | undefined; cluster: CommandCluster; replace: boolean }): Promise<{ imported: string[]; kept: string[] }>;
}

/** Opens the data directory's store, or the cluster's when `cluster` is given (through `clusterSecrets`). */
export async function openCommandStore(
  options: { dataDir: string; envName: string | undefined; keyEnv: string | undefined; cluster: CommandCluster | undefined },
  clusterSecrets: (() => Promise<ClusterSecrets>) | undefined,
): Promise<CommandStore> {
  const { dataDir, envName, keyEnv, cluster } = options;
  if (cluster === undefined) return { store: openSecretStore({ dataDir, envName, keyEnv }), inCluster: false, close: async () => {} };
  return (await reachCluster(clusterSecrets)).open({ cluster, envName, keyEnv });
}

/** The cluster's side, or a clear error where the caller gave none. */
export async function reachCluster(clusterSecrets: (() => Promise<ClusterSecrets>) | undefined): Promise<ClusterSecrets> {
  if (clusterSecrets === undefined) throw new Error("this command was given no way to reach a cluster (SecretCommandIo.clusterSecrets)");
  return clusterSecrets();
}
