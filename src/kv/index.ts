/**
 * Workers KV for Hearth: `KVNamespace` bindings kept in SQLite files. See docs/bindings/kv.md.
 * @module
 */
export { KvNamespace, openKvNamespace, closeAllKvNamespaces, type KvNamespaceOptions, type KvNamespaceBackendOptions } from "./namespace.ts";
export type { KvBackend, MaybePromise, StoredEntry, StoredKey, StoredValue } from "./backend.ts";
export type { KvGetOptions, KvPutOptions } from "./options.ts";
export type { KvListOptions } from "./list.ts";
export type { KvGetWithMetadataResult, KvListKey, KvListResult } from "./types.ts";
export type { KvPutValue, KvValueType } from "./values.ts";
export { KV_LIMITS } from "./limits.ts";
