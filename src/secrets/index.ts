/**
 * Production secrets: `hearth secret put|delete|list|bulk|import`, kept encrypted in the data
 * directory (or, in a cluster, in its Postgres: src/cluster/bindings), and the `secrets_store_secrets`
 * bindings that read them. See docs/secrets.md.
 * @module
 */
export { secretsStoreBindings, SecretsStoreSecret, type SecretReader } from "./binding.ts";
export { parseBulkInput } from "./bulk.ts";
export { SecretKey } from "./cipher.ts";
export { secretNameClashes, secretPutClashMessage, storedSecretClashMessage, varsFileClashMessage, type SecretNameClash } from "./clashes.ts";
export { CLUSTER_ENV_VAR, runSecretCommand, SECRET_USAGE, type SecretCommandIo } from "./command.ts";
export { SecretStoreError, type SecretStoreErrorCode } from "./errors.ts";
export { KEY_ENV_VAR, KEY_FILE_NAME, keyFilePath, parseKey } from "./key.ts";
export { checkEnvName, checkSecretName, checkSecretValue, MAX_ENV_NAME_LENGTH, MAX_SECRET_NAME_LENGTH, MAX_SECRET_VALUE_BYTES } from "./names.ts";
export { MAX_STDIN_BYTES } from "./read-value.ts";
export {
  openSecretStore,
  secretsFilePath,
  type AppliedSecretChanges,
  type FileSecretStore,
  type MaybePromise,
  type SecretStore,
  type SecretStoreOptions,
} from "./store.ts";
