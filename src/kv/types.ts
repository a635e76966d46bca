/** `getWithMetadata`'s result. `cacheStatus` is always null: there is no edge cache on one machine. */
export interface KvGetWithMetadataResult<Value, Metadata> {
  value: Value | null;
  metadata: Metadata | null;
  cacheStatus: string | null;
}

/** One key of a `list` result; `expiration` (epoch seconds) and `metadata` only when set. */
export interface KvListKey<Metadata, Key extends string = string> {
  name: Key;
  expiration?: number;
  metadata?: Metadata;
}

/** `list`'s result: `cursor` is there exactly when `list_complete` is false. */
export type KvListResult<Metadata, Key extends string = string> =
  | { list_complete: false; keys: KvListKey<Metadata, Key>[]; cursor: string; cacheStatus: string | null }
  | { list_complete: true; keys: KvListKey<Metadata, Key>[]; cacheStatus: string | null };
