import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SecretKey } from "./cipher.ts";
import { SecretStoreError, showName } from "./errors.ts";
import { fileSignature, readSecretsFile, writeSecretsFile, type FileSignature, type SecretsFileContents } from "./file.ts";
import { createKeyFile, KEY_ENV_VAR, keyFilePath, parseKey, readKeyFile } from "./key.ts";
import { withFileLock } from "./lock.ts";
import { checkEnvName, checkSecretName, checkSecretValue } from "./names.ts";

/** Where a store lives and which key it uses. */
export interface SecretStoreOptions {
  /** The data directory (`--data`, default `.hearth`). */
  dataDir: string;
  /** The environment (`--env`); its secrets are kept apart from every other environment's. */
  envName?: string;
  /** The value of `HEARTH_SECRET_KEY`, when set; it takes precedence over `<dataDir>/secret.key`. */
  keyEnv?: string;
}

/** What {@link SecretStore.apply} did. */
export interface AppliedSecretChanges {
  /** Names written (created or replaced). */
  saved: string[];
  /** Names removed that existed. */
  deleted: string[];
}

/** A result now, or later: the file store answers at once, the cluster's store after Postgres has committed. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One environment's secrets, encrypted at rest. Reads are synchronous, served from a local file or
 * from memory, so a `secrets_store_secrets` binding costs no round trip. Writes are synchronous on the
 * file store ({@link FileSecretStore}) and asynchronous on the cluster's Postgres store; `await` the
 * result to handle both.
 */
export interface SecretStore {
  /** Where the secrets live, for messages: the file's path, or the cluster's table and environment. */
  readonly location: string;
  /** The environment, undefined for the top level. */
  readonly envName: string | undefined;
  /** The names, sorted. Needs no key: names are stored in clear. */
  list(): string[];
  /** Whether a secret of this name exists. Needs no key. */
  has(name: string): boolean;
  /** The value, or undefined when there is no such secret. */
  get(name: string): string | undefined;
  /** Creates or replaces a secret. */
  put(name: string, value: string): MaybePromise<void>;
  /** Removes a secret; true when it existed. Needs no key. */
  delete(name: string): MaybePromise<boolean>;
  /** Several puts (a string) and deletes (null) written at once: all of them, or none when one is invalid. */
  apply(changes: Iterable<readonly [string, string | null]>): MaybePromise<AppliedSecretChanges>;
  /** Every secret, decrypted. */
  all(): Record<string, string>;
  /**
   * Throws what a read or a write would throw about the key (missing, not matching the stored secrets,
   * a key file others may read, a malformed key), without decrypting anything.
   */
  verifyKey(): void;
}

/**
 * One environment's secrets in `<dataDir>/secrets/<env or "default">.json`; every call, writes
 * included, is synchronous. Every call sees what another process wrote before it (the file is read
 * again when it changed), so a `hearth secret put` is seen by a running server's `secrets_store_secrets` bindings.
 */
export interface FileSecretStore extends SecretStore {
  /** The file the secrets live in (the same as `location`). */
  readonly path: string;
  /** Creates or replaces a secret; creates the key file on the first put when no key is set. */
  put(name: string, value: string): void;
  delete(name: string): boolean;
  apply(changes: Iterable<readonly [string, string | null]>): AppliedSecretChanges;
}

/**
 * The file an environment's secrets live in: `<dataDir>/secrets/env-<env>.json`, `default.json` without one.
 *
 * @throws {SecretStoreError} `ENV_INVALID` for a name that cannot be a file name.
 * @example
 * secretsFilePath(".hearth", "staging"); // ".hearth/secrets/env-staging.json"
 */
export function secretsFilePath(dataDir: string, envName?: string): string {
  if (envName !== undefined && envName !== "") checkEnvName(envName);
  // "env-" keeps an environment named "default" apart from the top level.
  return join(dataDir, "secrets", envName === undefined || envName === "" ? "default.json" : `env-${envName}.json`);
}

/**
 * Opens an environment's secret store. Nothing is created until the first put. The key is read only
 * when a value is encrypted or decrypted (or {@link SecretStore.verifyKey} is called): `list`,
 * `has` and `delete` work with a malformed `keyEnv`, which the others refuse (`KEY_INVALID`).
 *
 * @throws {SecretStoreError} `ENV_INVALID` for a bad environment name.
 * @example
 * const store = openSecretStore({ dataDir: ".hearth", envName: "production", keyEnv: process.env.HEARTH_SECRET_KEY });
 * store.put("API_KEY", "s3cret");
 * store.get("API_KEY"); // "s3cret"
 * store.list();         // ["API_KEY"]
 */
export function openSecretStore(options: SecretStoreOptions): FileSecretStore {
  return new SecretsFileStore(options);
}

class SecretsFileStore implements FileSecretStore {
  readonly path: string;
  readonly envName: string | undefined;
  readonly #dataDir: string;
  /** `HEARTH_SECRET_KEY` as given, parsed on first use. */
  readonly #envKeyText: string | undefined;
  #envKey: SecretKey | undefined;
  #fileKey: SecretKey | undefined;
  #cached: { signature: FileSignature; contents: SecretsFileContents } | undefined;

  constructor(options: SecretStoreOptions) {
    this.#dataDir = options.dataDir;
    this.envName = options.envName === "" ? undefined : options.envName;
    this.path = secretsFilePath(options.dataDir, this.envName);
    // An empty HEARTH_SECRET_KEY= counts as unset, as an exported-but-empty variable usually means.
    const keyEnv = options.keyEnv?.trim();
    this.#envKeyText = keyEnv === undefined || keyEnv === "" ? undefined : keyEnv;
  }

  get location(): string {
    return this.path;
  }

  list(): string[] {
    return [...this.#contents().secrets.keys()].sort();
  }

  has(name: string): boolean {
    checkSecretName(name);
    return this.#contents().secrets.has(name);
  }

  get(name: string): string | undefined {
    checkSecretName(name);
    const contents = this.#contents();
    if (!contents.secrets.has(name)) return undefined;
    return this.#open(contents, this.#keyFor(contents), name);
  }

  all(): Record<string, string> {
    const contents = this.#contents();
    if (contents.secrets.size === 0) return {};
    const key = this.#keyFor(contents);
    return Object.fromEntries([...contents.secrets.keys()].sort().map((name) => [name, this.#open(contents, key, name)]));
  }

  verifyKey(): void {
    const contents = this.#contents();
    if (contents.secrets.size > 0) this.#keyFor(contents);
    else this.#currentKey();
  }

  put(name: string, value: string): void {
    // Checked here too: apply would read a null value as a delete.
    checkSecretName(name);
    checkSecretValue(name, value);
    this.apply([[name, value]]);
  }

  delete(name: string): boolean {
    return this.apply([[name, null]]).deleted.length > 0;
  }

  apply(changes: Iterable<readonly [string, string | null]>): AppliedSecretChanges {
    // Everything is checked before the file is touched: one bad entry changes nothing.
    const pending = new Map<string, string | null>();
    for (const [name, value] of changes) {
      checkSecretName(name);
      if (value !== null) checkSecretValue(name, value);
      pending.set(name, value);
    }
    const writes = [...pending.values()].some((value) => value !== null);
    if (!writes && !existsSync(this.path)) return { saved: [], deleted: [] };
    return this.#change((contents) => {
      const key = writes ? this.#keyForWriting(contents) : undefined;
      const applied: AppliedSecretChanges = { saved: [], deleted: [] };
      const updated = new Date().toISOString();
      for (const [name, value] of pending) {
        if (value === null) {
          if (contents.secrets.delete(name)) applied.deleted.push(name);
        } else if (key !== undefined) {
          contents.secrets.set(name, { ...key.seal(name, value), updated });
          applied.saved.push(name);
        }
      }
      if (key !== undefined) contents.keyId = key.id;
      // With nothing left, the next put may start over with another key.
      if (contents.secrets.size === 0) contents.keyId = null;
      return applied;
    });
  }

  #change(mutate: (contents: SecretsFileContents) => AppliedSecretChanges): AppliedSecretChanges {
    writeSecretsDirectory(this.path);
    return withFileLock(this.path, () => {
      // Read afresh under the lock: another process may have written since our cached copy.
      const contents = readSecretsFile(this.path);
      const applied = mutate(contents);
      if (applied.saved.length > 0 || applied.deleted.length > 0) writeSecretsFile(this.path, contents);
      this.#cached = undefined;
      return applied;
    });
  }

  #contents(): SecretsFileContents {
    const signature = fileSignature(this.path);
    if (signature === undefined) return { keyId: null, secrets: new Map() };
    if (this.#cached?.signature !== signature) this.#cached = { signature, contents: readSecretsFile(this.path) };
    return this.#cached.contents;
  }

  #currentKey(): SecretKey | undefined {
    if (this.#envKeyText !== undefined) return (this.#envKey ??= parseKey(this.#envKeyText, KEY_ENV_VAR));
    this.#fileKey ??= readKeyFile(keyFilePath(this.#dataDir));
    return this.#fileKey;
  }

  /** The key to read `contents` with, checked against the fingerprint the file records. */
  #keyFor(contents: SecretsFileContents): SecretKey {
    const key = this.#currentKey();
    if (key === undefined) {
      throw new SecretStoreError(
        "KEY_MISSING",
        `cannot decrypt secrets in ${this.path}: there is no key (${KEY_ENV_VAR} is not set and ${keyFilePath(this.#dataDir)} does not exist). ` +
          `Set ${KEY_ENV_VAR}, or restore the key file, that they were written with`,
      );
    }
    if (contents.keyId !== null && contents.keyId !== key.id) {
      throw new SecretStoreError(
        "KEY_MISMATCH",
        `cannot decrypt secrets: the key does not match the one the secrets in ${this.path} were written with ` +
          `(the key in use comes from ${key.source}). Use the key they were written with, or delete that file to start over`,
      );
    }
    return key;
  }

  /** The key to seal new values with: the current one, or a new key file when there is none yet. */
  #keyForWriting(contents: SecretsFileContents): SecretKey {
    if (this.#currentKey() === undefined && contents.secrets.size === 0) this.#fileKey = createKeyFile(this.#dataDir);
    // Refuses a key that differs from the one already used: the file never mixes two keys.
    return this.#keyFor(contents);
  }

  #open(contents: SecretsFileContents, key: SecretKey, name: string): string {
    const sealed = contents.secrets.get(name);
    const value = sealed === undefined ? undefined : key.open(name, sealed);
    if (value === undefined) {
      throw new SecretStoreError(
        "FILE_CORRUPT",
        `cannot decrypt secret ${showName(name)} in ${this.path}: it was altered, or copied from another name (its authentication failed)`,
      );
    }
    return value;
  }
}

/** Creates the secrets directory, and the data directory when missing, with mode 0700 (the lock file goes there). */
function writeSecretsDirectory(path: string): void {
  // recursive applies the mode to every directory it creates, the data directory included.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}
