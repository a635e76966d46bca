import type { Clock } from "../time/clock.ts";

/** A stored value: a string when it was put as one (SQLite keeps it as TEXT), else the bytes. */
export type StoredValue = string | Uint8Array;

/** One live entry as stored. */
export interface StoredEntry {
  value: StoredValue;
  /** Epoch seconds, or null when the key does not expire. */
  expiration: number | null;
  /** The metadata's JSON, or null when none was set. */
  metadata: string | null;
}

/** One key of a listing, as stored. */
export interface StoredKey {
  name: string;
  expiration: number | null;
  metadata: string | null;
}

/** A value now, or later: local stores answer at once (no extra await), remote ones with a promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where a {@link KvNamespace} keeps its entries: a SQLite file on this machine (`KvStore`), or a table
 * in the cluster's Postgres (src/cluster/bindings). Keys reach it already checked; every limit and
 * error text of the API lives above it, in the namespace, so both stores behave the same.
 *
 * Reads may answer synchronously: the namespace then adds no await, which keeps the SQLite path as
 * fast as a plain function call. Writes resolve once the entry is durable in the store.
 */
export interface KvBackend {
  /** Names the namespace in errors ("KV namespace <label> is closed"). */
  readonly label: string;
  /** The time source for expirations. */
  readonly clock: Clock;
  readonly isOpen: boolean;
  /** The live entry for `key` at `nowSeconds`, or undefined (missing or expired). */
  get(key: string, nowSeconds: number): MaybePromise<StoredEntry | undefined>;
  /** The live entries for `keys`, in the same order (undefined where missing or expired). */
  getMany(keys: readonly string[], nowSeconds: number): MaybePromise<Array<StoredEntry | undefined>>;
  put(key: string, value: StoredValue, expiration: number | null, metadata: string | null): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Up to `limit` live keys in UTF-8 byte order, at or after `from`, strictly after `after` and before
   * `before` (when given).
   */
  list(from: string, after: string, before: string | undefined, nowSeconds: number, limit: number): MaybePromise<StoredKey[]>;
  /** Stops background work and lets go of the storage. Idempotent. */
  close(): void;
}
