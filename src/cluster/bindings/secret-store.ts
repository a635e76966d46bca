import type pg from "pg";
import type { SecretKey } from "../../secrets/cipher.ts";
import { SecretStoreError, showName } from "../../secrets/errors.ts";
import { KEY_ENV_VAR, parseKey } from "../../secrets/key.ts";
import { checkEnvName, checkSecretName, checkSecretValue } from "../../secrets/names.ts";
import { bytesToSealed, sealedToBytes } from "../../secrets/sealed-bytes.ts";
import type { AppliedSecretChanges, SecretStore } from "../../secrets/store.ts";
import { systemClock, type Clock } from "../../time/clock.ts";
import { DEFAULT_SCHEMA } from "../pg/schema.ts";
import { ensureSecretTables } from "./secret-table.ts";
import { loadSnapshot, readGeneration, writeSecrets, type SecretSnapshot } from "./secret-sql.ts";
import { secretTables, type SecretTables } from "./secret-table.ts";
import { SecretWatch } from "./secret-watch.ts";

/** How often a node compares its copy's generation with Postgres when no notification came: the staleness bound. */
export const SECRET_POLL_INTERVAL_MS = 5_000;

/** Options of {@link openPostgresSecretStore}. */
export interface PostgresSecretStoreOptions {
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
  /** The environment (`--env`); undefined for the top level. */
  envName?: string;
  /** The value of `HEARTH_SECRET_KEY`: in a cluster the only source of the key (no key file is read or made). */
  keyEnv?: string;
  /**
   * Refuse to open when the cluster holds secrets and the key is missing or does not match them
   * (default true: a node fails at start). `hearth secret list` and `delete`, which need no key, pass false.
   */
  checkKey?: boolean;
  /** Keep the copy fresh by LISTEN/NOTIFY and the poll (default true); false for a one-shot command. */
  watch?: boolean;
  /** LISTEN for changes (default true); false behind a pooler that cannot, leaving the poll alone. */
  listen?: boolean;
  /** The poll's period in ms (default {@link SECRET_POLL_INTERVAL_MS}); 0 turns it off. */
  pollIntervalMs?: number;
  /** Timers of the poll and the listener's reconnection; default the system clock. */
  clock?: Clock;
  /** Background refresh failures; default: one line on stderr per outage. */
  onError?: (error: unknown) => void;
}

/**
 * An environment's secrets in the cluster's Postgres, served from memory: reads are synchronous and
 * never wait for Postgres; writes commit a transaction, then resolve once this copy shows them.
 */
export interface PostgresSecretStore extends SecretStore {
  put(name: string, value: string): Promise<void>;
  delete(name: string): Promise<boolean>;
  apply(changes: Iterable<readonly [string, string | null]>): Promise<AppliedSecretChanges>;
  /** Reads the environment again now (a poll does it by itself). */
  refresh(): Promise<void>;
  /** Stops listening and polling; the pool stays open (it is the caller's). */
  close(): Promise<void>;
}

/**
 * Opens an environment's secrets kept in the cluster's Postgres (tables `<schema>.secrets`,
 * `secrets_key`, `secrets_generation`, created if missing): loads them all, then serves reads from
 * memory. Every node sees every write: a writer notifies at commit and each node reloads; a poll every
 * {@link SECRET_POLL_INTERVAL_MS} catches a notification that was lost. The values are sealed as in
 * the data directory (AES-256-GCM, the name and environment authenticated) with `HEARTH_SECRET_KEY`.
 *
 * @throws {SecretStoreError} `KEY_INVALID` (malformed key), `ENV_INVALID`, `KEY_MISSING` / `KEY_MISMATCH`
 *   (the cluster holds secrets and the key is missing or another one), `UNAVAILABLE` (Postgres failed).
 * @example
 * const secrets = await openPostgresSecretStore(pool, { schema: "hearth", envName: "production", keyEnv: process.env.HEARTH_SECRET_KEY });
 * secrets.get("API_KEY");              // from memory
 * await secrets.put("API_KEY", "s3cret"); // every node sees it within the poll interval, usually at once
 * await secrets.close();
 */
export async function openPostgresSecretStore(pool: pg.Pool, options: PostgresSecretStoreOptions = {}): Promise<PostgresSecretStore> {
  const store = new ClusterSecretStore(pool, options);
  await store.open(options);
  return store;
}

class ClusterSecretStore implements PostgresSecretStore {
  readonly location: string;
  readonly envName: string | undefined;
  readonly #pool: pg.Pool;
  readonly #tables: SecretTables;
  readonly #env: string;
  /** `HEARTH_SECRET_KEY` as given, parsed on first use: names and deletes need no key, so a malformed one does not stop them. */
  readonly #keyText: string | undefined;
  #key: SecretKey | undefined;
  readonly #onError: (error: unknown) => void;
  #snapshot: SecretSnapshot = { generation: 0, keyId: null, secrets: new Map() };
  #watch: SecretWatch | undefined;
  #refreshing: Promise<void> | undefined;
  #again = false;
  #failing = false;

  constructor(pool: pg.Pool, options: PostgresSecretStoreOptions) {
    this.#pool = pool;
    this.envName = options.envName === "" ? undefined : options.envName;
    if (this.envName !== undefined) checkEnvName(this.envName);
    this.#env = this.envName ?? "";
    this.#tables = secretTables(options.schema ?? DEFAULT_SCHEMA);
    this.location = `${this.#tables.secrets} (${this.envName === undefined ? "the top-level environment" : `environment ${this.envName}`})`;
    // An empty HEARTH_SECRET_KEY= counts as unset, as with the file store.
    const keyEnv = options.keyEnv?.trim();
    this.#keyText = keyEnv === undefined || keyEnv === "" ? undefined : keyEnv;
    this.#onError = options.onError ?? ((error) => this.#report(error));
  }

  async open(options: PostgresSecretStoreOptions): Promise<void> {
    try {
      await ensureSecretTables(this.#pool, this.#tables.schema);
    } catch (error) {
      throw unavailable(`cannot read secrets from the cluster's Postgres (${this.location})`, error, "");
    }
    // Listening before the first load: a write committed in between is then notified, not left to the poll.
    if (options.watch !== false) {
      this.#watch = new SecretWatch({
        pool: this.#pool,
        channel: this.#tables.channel,
        clock: options.clock ?? systemClock,
        pollIntervalMs: options.pollIntervalMs ?? SECRET_POLL_INTERVAL_MS,
        listen: options.listen ?? true,
        onNotice: (payload) => this.#noticed(payload),
        poll: () => this.#poll(),
        onError: this.#onError,
      });
      await this.#watch.start();
    }
    try {
      try {
        await this.refresh();
      } catch (error) {
        throw unavailable(`cannot read secrets from the cluster's Postgres (${this.location})`, error, "");
      }
      if ((options.checkKey ?? true) && this.#snapshot.keyId !== null) this.#keyFor(this.#snapshot, "read");
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  list(): string[] {
    return [...this.#snapshot.secrets.keys()].sort();
  }

  has(name: string): boolean {
    checkSecretName(name);
    return this.#snapshot.secrets.has(name);
  }

  get(name: string): string | undefined {
    checkSecretName(name);
    const snapshot = this.#snapshot;
    const sealed = snapshot.secrets.get(name);
    return sealed === undefined ? undefined : this.#open(this.#keyFor(snapshot, "read"), name, sealed);
  }

  all(): Record<string, string> {
    const snapshot = this.#snapshot;
    if (snapshot.secrets.size === 0) return {};
    const key = this.#keyFor(snapshot, "read");
    return Object.fromEntries([...snapshot.secrets.keys()].sort().map((name) => [name, this.#open(key, name, snapshot.secrets.get(name)!)]));
  }

  verifyKey(): void {
    // A write needs the key even when nothing is stored: a cluster never makes one.
    this.#keyFor(this.#snapshot, "write");
  }

  async put(name: string, value: string): Promise<void> {
    checkSecretName(name);
    checkSecretValue(name, value);
    await this.apply([[name, value]]);
  }

  async delete(name: string): Promise<boolean> {
    return (await this.apply([[name, null]])).deleted.length > 0;
  }

  async apply(changes: Iterable<readonly [string, string | null]>): Promise<AppliedSecretChanges> {
    // Everything is checked before Postgres is asked: one bad entry changes nothing.
    const pending = new Map<string, string | null>();
    for (const [name, value] of changes) {
      checkSecretName(name);
      if (value !== null) checkSecretValue(name, value);
      pending.set(name, value);
    }
    const puts = new Map<string, Buffer>();
    const deletes: string[] = [];
    const writes = [...pending.values()].some((value) => value !== null);
    const key = writes ? this.#keyFor(this.#snapshot, "write") : undefined;
    for (const [name, value] of pending) {
      if (value === null) deletes.push(name);
      else puts.set(name, sealedToBytes(key!.seal(this.#sealedName(name), value)));
    }
    let outcome;
    try {
      outcome = await writeSecrets(this.#pool, this.#tables, { env: this.#env, puts, deletes, keyId: key?.id });
    } catch (error) {
      throw unavailable(`cannot write secrets to the cluster's Postgres (${this.location})`, error, ". The change may or may not have been saved: run the command again");
    }
    if (!outcome.ok) throw this.#mismatch(key!);
    await this.refresh().catch(() => undefined);
    const deleted = new Set(outcome.deleted);
    return { saved: [...puts.keys()], deleted: deletes.filter((name) => deleted.has(name)) };
  }

  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) {
      // The load in progress may have started before the change we were told of: load once more after it.
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        this.#snapshot = await loadSnapshot(this.#pool, this.#tables, this.#env);
      } while (this.#again);
      this.#failing = false;
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.close();
    await this.#refreshing?.catch(() => undefined);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `PostgresSecretStore { location: ${this.location}, secrets: ${this.#snapshot.secrets.size} }`;
  }

  #noticed(payload: string | undefined): void {
    if (payload !== undefined) {
      const cut = payload.lastIndexOf(":");
      if (payload.slice(0, cut) !== this.#env || Number(payload.slice(cut + 1)) <= this.#snapshot.generation) return;
    }
    this.refresh().catch(this.#onError);
  }

  async #poll(): Promise<void> {
    const generation = await readGeneration(this.#pool, this.#tables, this.#env);
    if (generation !== this.#snapshot.generation) await this.refresh();
    this.#failing = false;
  }

  /** The name the value is sealed under: the environment is authenticated too, so a row moved between environments fails to open. */
  #sealedName(name: string): string {
    return this.#env === "" ? name : `${this.#env}/${name}`;
  }

  #keyFor(snapshot: SecretSnapshot, use: "read" | "write"): SecretKey {
    const key = this.#keyText === undefined ? undefined : (this.#key ??= parseKey(this.#keyText, KEY_ENV_VAR));
    if (key === undefined) {
      throw new SecretStoreError(
        "KEY_MISSING",
        `cannot ${use} the cluster's secrets in ${this.#tables.secrets}: ${KEY_ENV_VAR} is not set. In a cluster the key comes from ${KEY_ENV_VAR}, ` +
          `the same on every node and for every hearth secret command (no key file is read or made): ` +
          (snapshot.keyId === null ? "set it, e.g. to the output of `openssl rand -base64 32`" : "set it to the key the stored secrets were written with"),
      );
    }
    if (snapshot.keyId !== null && snapshot.keyId !== key.id) throw this.#mismatch(key);
    return key;
  }

  #mismatch(key: SecretKey): SecretStoreError {
    return new SecretStoreError(
      "KEY_MISMATCH",
      `cannot decrypt secrets: ${key.source} does not match the key the cluster's secrets in ${this.#tables.secrets} were written with. ` +
        `Every node and every hearth secret command must use the same ${KEY_ENV_VAR}; nothing was changed`,
    );
  }

  #open(key: SecretKey, name: string, sealed: Buffer): string {
    const value = key.open(this.#sealedName(name), bytesToSealed(sealed));
    if (value === undefined) {
      throw new SecretStoreError(
        "FILE_CORRUPT",
        `cannot decrypt secret ${showName(name)} in ${this.location}: it was altered, or copied from another name or environment (its authentication failed)`,
      );
    }
    return value;
  }

  #report(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[hearth] secrets: cannot refresh ${this.location} from the cluster's Postgres (serving the copy read before; retrying): ${message}`);
  }
}

function unavailable(what: string, error: unknown, then: string): SecretStoreError {
  const failure = new SecretStoreError("UNAVAILABLE", `${what}: ${error instanceof Error ? error.message : String(error)}${then}`);
  failure.cause = error;
  return failure;
}
