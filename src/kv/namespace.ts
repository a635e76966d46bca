import type { Durability } from "../limits.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { checkKey, toKeyString } from "./keys.ts";
import { encodeCursor, listQuery, type KvListOptions } from "./list.ts";
import { checkPutOptions, type KvGetOptions, type KvPutOptions } from "./options.ts";
import { readMany, readOne } from "./reads.ts";
import { SharedFiles } from "../storage/shared-files.ts";
import { KvStore } from "./store.ts";
import type { KvBackend, StoredKey } from "./backend.ts";
import type { KvGetWithMetadataResult, KvListKey, KvListResult } from "./types.ts";
import { toStoredValue, type KvPutValue } from "./values.ts";

/** Options of {@link KvNamespace} and {@link openKvNamespace}. */
export interface KvNamespaceOptions {
  /** The namespace's SQLite file (created with its directory if missing). */
  path: string;
  /** Time source for expirations; default the system clock. Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** `"relaxed"` (default): a write survives a process crash; `"strict"`: also a power loss. */
  durability?: Durability;
}

/**
 * A namespace kept elsewhere than in a local file: the store is the namespace's own (not shared by
 * reference count) and is closed by the namespace's `close()`. The cluster's Postgres store is one
 * (src/cluster/bindings, opened with `openPostgresKvNamespace`).
 *
 * @example
 * const kv = new KvNamespace({ backend: new PostgresKvStore({ pool, namespace: "4f1c…", schema: "hearth", clock }) });
 */
export interface KvNamespaceBackendOptions {
  backend: KvBackend;
}

const stores = new SharedFiles<KvStore>();

/**
 * A Workers KV namespace (`env.MY_KV`) kept in one SQLite file (or, given a `backend`, in another
 * store such as the cluster's Postgres), with the API, limits and error texts
 * of Cloudflare's `KVNamespace`. Every `KvNamespace` naming the same file in this process shares one
 * open database (reference counted: the last `close()` closes it), so all agents and workers see the
 * same data. Strongly consistent: a write is visible to every reader as soon as it is made, and durable
 * when its promise resolves. Expired keys are never returned and are purged in the background.
 *
 * @example
 * const kv = new KvNamespace({ path: ".hearth/kv/SESSIONS.sqlite" });
 * await kv.put("user:1", JSON.stringify({ name: "Ada" }), { expirationTtl: 3600, metadata: { v: 1 } });
 * const user = await kv.get<{ name: string }>("user:1", "json");
 * const { keys, list_complete } = await kv.list({ prefix: "user:" });
 * kv.close();
 */
export class KvNamespace<Key extends string = string> {
  readonly #path: string;
  #store: KvBackend | undefined;
  /** True when the store is a shared local file (released by reference count). */
  readonly #shared: boolean;

  constructor(options: KvNamespaceOptions | KvNamespaceBackendOptions) {
    if ("backend" in options) {
      this.#path = options.backend.label;
      this.#store = options.backend;
      this.#shared = false;
      return;
    }
    this.#shared = true;
    const durability = options.durability ?? "relaxed";
    const clock = options.clock ?? systemClock;
    this.#path = options.path;
    this.#store = stores.acquire(
      options.path,
      (path) => new KvStore({ path, durability, clock }),
      (open) => {
        if (open.durability !== durability) {
          throw new Error(`KV namespace ${options.path} is already open with durability "${open.durability}", not "${durability}"`);
        }
        if (open.clock !== clock) throw new Error(`KV namespace ${options.path} is already open with another clock`);
      },
    );
  }

  get(key: Key, options?: Partial<KvGetOptions<undefined>>): Promise<string | null>;
  get(key: Key, type: "text"): Promise<string | null>;
  get<ExpectedValue = unknown>(key: Key, type: "json"): Promise<ExpectedValue | null>;
  get(key: Key, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  get(key: Key, type: "stream"): Promise<ReadableStream<Uint8Array> | null>;
  get(key: Key, options?: KvGetOptions<"text">): Promise<string | null>;
  get<ExpectedValue = unknown>(key: Key, options?: KvGetOptions<"json">): Promise<ExpectedValue | null>;
  get(key: Key, options?: KvGetOptions<"arrayBuffer">): Promise<ArrayBuffer | null>;
  get(key: Key, options?: KvGetOptions<"stream">): Promise<ReadableStream<Uint8Array> | null>;
  get(keys: Key[], type: "text"): Promise<Map<string, string | null>>;
  get<ExpectedValue = unknown>(keys: Key[], type: "json"): Promise<Map<string, ExpectedValue | null>>;
  get(keys: Key[], options?: Partial<KvGetOptions<undefined>>): Promise<Map<string, string | null>>;
  get(keys: Key[], options?: KvGetOptions<"text">): Promise<Map<string, string | null>>;
  get<ExpectedValue = unknown>(keys: Key[], options?: KvGetOptions<"json">): Promise<Map<string, ExpectedValue | null>>;
  /**
   * The value of a key (null when missing or expired), read as text (default), json, arrayBuffer or
   * stream; or, given an array of up to 100 keys, a Map of their values (text or json only).
   */
  get(key: Key | Key[], arg?: unknown): Promise<unknown> {
    try {
      const store = this.#open();
      const now = nowSeconds(store.clock);
      return Promise.resolve(Array.isArray(key) ? readMany(store, now, key, arg, false) : readOne(store, now, key, arg, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  getWithMetadata<Metadata = unknown>(key: Key, options?: Partial<KvGetOptions<undefined>>): Promise<KvGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: "text"): Promise<KvGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(key: Key, type: "json"): Promise<KvGetWithMetadataResult<ExpectedValue, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: "arrayBuffer"): Promise<KvGetWithMetadataResult<ArrayBuffer, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: "stream"): Promise<KvGetWithMetadataResult<ReadableStream<Uint8Array>, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, options: KvGetOptions<"text">): Promise<KvGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(
    key: Key,
    options: KvGetOptions<"json">,
  ): Promise<KvGetWithMetadataResult<ExpectedValue, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, options: KvGetOptions<"arrayBuffer">): Promise<KvGetWithMetadataResult<ArrayBuffer, Metadata>>;
  getWithMetadata<Metadata = unknown>(
    key: Key,
    options: KvGetOptions<"stream">,
  ): Promise<KvGetWithMetadataResult<ReadableStream<Uint8Array>, Metadata>>;
  getWithMetadata<Metadata = unknown>(keys: Key[], type: "text"): Promise<Map<string, KvGetWithMetadataResult<string, Metadata> | null>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(
    keys: Key[],
    type: "json",
  ): Promise<Map<string, KvGetWithMetadataResult<ExpectedValue, Metadata> | null>>;
  getWithMetadata<Metadata = unknown>(
    keys: Key[],
    options?: Partial<KvGetOptions<undefined>>,
  ): Promise<Map<string, KvGetWithMetadataResult<string, Metadata> | null>>;
  getWithMetadata<Metadata = unknown>(
    keys: Key[],
    options?: KvGetOptions<"text">,
  ): Promise<Map<string, KvGetWithMetadataResult<string, Metadata> | null>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(
    keys: Key[],
    options?: KvGetOptions<"json">,
  ): Promise<Map<string, KvGetWithMetadataResult<ExpectedValue, Metadata> | null>>;
  /**
   * Like {@link KvNamespace.get}, with the key's metadata: `{ value, metadata, cacheStatus: null }`
   * (value and metadata null when the key is missing). The bulk form maps a missing key to null.
   */
  getWithMetadata(key: Key | Key[], arg?: unknown): Promise<unknown> {
    try {
      const store = this.#open();
      const now = nowSeconds(store.clock);
      return Promise.resolve(Array.isArray(key) ? readMany(store, now, key, arg, true) : readOne(store, now, key, arg, true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores a value (string, ArrayBuffer, ArrayBufferView or ReadableStream, at most 25 MiB) with an
   * optional expiration (`expiration` epoch seconds or `expirationTtl` seconds, at least 60 s ahead)
   * and metadata (JSON, at most 1024 bytes). Resolves when the write is durable; a bad argument
   * rejects and leaves the stored value as it was.
   */
  put(key: Key, value: KvPutValue, options?: KvPutOptions): Promise<void> {
    try {
      const store = this.#open();
      const name = toKeyString(key);
      checkKey("PUT", name);
      const { expiration, metadata } = checkPutOptions(options, nowSeconds(store.clock));
      const stored = toStoredValue(value);
      if (!(stored instanceof Promise)) return store.put(name, stored, expiration, metadata);
      // A stream takes effect when it has been read to its end.
      return stored.then((bytes) => this.#open().put(name, bytes, expiration, metadata));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes a key; removing a missing key succeeds. Resolves when the removal is durable. */
  delete(key: Key): Promise<void> {
    try {
      const store = this.#open();
      const name = toKeyString(key);
      checkKey("DELETE", name);
      return store.delete(name);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Up to `limit` (default and maximum 1000) keys in UTF-8 byte order, optionally only those starting
   * with `prefix`. While `list_complete` is false, pass `cursor` (and the same prefix) for the next page.
   */
  list<Metadata = unknown>(options?: KvListOptions): Promise<KvListResult<Metadata, Key>> {
    try {
      const store = this.#open();
      const query = listQuery(options);
      const rows = store.list(query.from, query.after, query.before, nowSeconds(store.clock), query.limit + 1);
      return rows instanceof Promise
        ? rows.then((found) => listResult<Metadata, Key>(found, query.limit))
        : Promise.resolve(listResult<Metadata, Key>(rows, query.limit));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Lets go of the namespace: the file is committed and closed when the last `KvNamespace` using it
   * closes. Later calls on this object reject. Idempotent.
   */
  close(): void {
    const store = this.#store;
    if (store === undefined) return;
    this.#store = undefined;
    if (!this.#shared) store.close();
    else if (stores.release(this.#path, store as KvStore)) store.close();
  }

  #open(): KvBackend {
    const store = this.#store;
    if (store === undefined || !store.isOpen) throw new Error(`KV namespace ${this.#path} is closed`);
    return store;
  }
}

/**
 * The namespace stored in `path`, sharing the open file with every other `KvNamespace` of this
 * process that names it (the same as `new KvNamespace({ path, ...options })`). Each call must be
 * matched by a `close()`; {@link closeAllKvNamespaces} closes them all at shutdown.
 *
 * @example
 * const a = openKvNamespace("/data/kv/CACHE.sqlite");
 * const b = openKvNamespace("/data/kv/CACHE.sqlite"); // same file, same data
 * await a.put("k", "v");
 * await b.get("k"); // "v"
 * a.close();
 * b.close(); // the file is closed here
 */
export function openKvNamespace<Key extends string = string>(path: string, options: Omit<KvNamespaceOptions, "path"> = {}): KvNamespace<Key> {
  return new KvNamespace<Key>({ ...options, path });
}

/**
 * Commits and closes every KV namespace file open in this process, whoever holds it (host shutdown,
 * tests). Objects still holding one reject further calls; new ones may open the files again.
 *
 * @example
 * process.on("SIGTERM", () => { closeAllKvNamespaces(); process.exit(0); });
 */
export function closeAllKvNamespaces(): void {
  const errors: unknown[] = [];
  for (const store of stores.takeAll()) {
    try {
      store.close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, "closeAllKvNamespaces: some KV namespaces failed to close");
}

/** One page of `list`: the rows past `limit` only tell that the listing goes on. */
function listResult<Metadata, Key extends string>(rows: StoredKey[], limit: number): KvListResult<Metadata, Key> {
  const complete = rows.length <= limit;
  const keys = (complete ? rows : rows.slice(0, limit)).map((row) => {
    const key: KvListKey<Metadata, Key> = { name: row.name as Key };
    if (row.expiration !== null) key.expiration = row.expiration;
    if (row.metadata !== null) key.metadata = JSON.parse(row.metadata) as Metadata;
    return key;
  });
  return complete
    ? { keys, list_complete: true, cacheStatus: null }
    : { keys, list_complete: false, cursor: encodeCursor(keys[keys.length - 1]!.name), cacheStatus: null };
}

function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
