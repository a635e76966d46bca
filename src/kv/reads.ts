import type { KvBackend, MaybePromise, StoredEntry } from "./backend.ts";
import { kvFailure } from "./errors.ts";
import { checkBulkKey, checkKey, toKeyString } from "./keys.ts";
import { KV_LIMITS } from "./limits.ts";
import { checkCacheTtl, readOptions, type KvGetOptions } from "./options.ts";
import type { KvValueType } from "./values.ts";
import type { KvGetWithMetadataResult } from "./types.ts";
import { asText, readAs, storedSize } from "./values.ts";

/**
 * A single get: the value read as asked, or the value with its metadata. Synchronous when the store
 * answers synchronously (SQLite), so the local path adds no await.
 */
export function readOne(store: KvBackend, nowSeconds: number, key: unknown, arg: unknown, withMetadata: boolean): MaybePromise<unknown> {
  const { type, cacheTtl } = readOptions(arg);
  const name = toKeyString(key);
  checkKey("GET", name);
  checkCacheTtl("GET", cacheTtl);
  const entry = store.get(name, nowSeconds);
  return entry instanceof Promise ? entry.then((found) => shapeOne(found, type, withMetadata)) : shapeOne(entry, type, withMetadata);
}

function shapeOne(entry: StoredEntry | undefined, type: KvValueType, withMetadata: boolean): unknown {
  if (!withMetadata) return entry === undefined ? null : readAs(entry.value, type);
  if (entry === undefined) return { value: null, metadata: null, cacheStatus: null } satisfies KvGetWithMetadataResult<null, null>;
  return {
    value: readAs(entry.value, type),
    metadata: entry.metadata === null ? null : (JSON.parse(entry.metadata) as unknown),
    cacheStatus: null,
  } satisfies KvGetWithMetadataResult<unknown, unknown>;
}

/**
 * A bulk get, with the KV server's checks and texts: text or json only, 1 to 100 keys, each key
 * valid (all are checked before any is read, as the server does), values together at most 25 MiB.
 * A missing key maps to null.
 */
export function readMany(
  store: KvBackend,
  nowSeconds: number,
  keys: readonly unknown[],
  arg: unknown,
  withMetadata: boolean,
): MaybePromise<Map<string, unknown>> {
  const { type, cacheTtl } = bulkOptions(arg);
  if (keys.length > KV_LIMITS.maxBulkKeys) throw kvFailure("GET_BULK", 400, `You can request a maximum of ${KV_LIMITS.maxBulkKeys} keys`);
  if (keys.length < 1) throw kvFailure("GET_BULK", 400, "You must request a minimum of 1 key");
  const names = keys.map((key) => {
    const name = toKeyString(key);
    checkBulkKey(name);
    checkCacheTtl("GET_BULK", cacheTtl);
    return name;
  });
  const entries = store.getMany(names, nowSeconds);
  return entries instanceof Promise
    ? entries.then((found) => shapeMany(names, found, type, withMetadata))
    : shapeMany(names, entries, type, withMetadata);
}

function shapeMany(
  names: readonly string[],
  entries: ReadonlyArray<StoredEntry | undefined>,
  type: "text" | "json",
  withMetadata: boolean,
): Map<string, unknown> {
  const result = new Map<string, unknown>();
  let total = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const entry = entries[i];
    if (entry === undefined) {
      result.set(name, null);
      continue;
    }
    total += storedSize(entry.value);
    if (total > KV_LIMITS.maxBulkBytes) {
      throw kvFailure("GET_BULK", 413, `Total size of request exceeds the limit of ${KV_LIMITS.maxBulkBytes / 1024 / 1024}MB`);
    }
    const text = asText(entry.value);
    let value: unknown = text;
    if (type === "json") {
      try {
        value = JSON.parse(text);
      } catch {
        throw kvFailure("GET_BULK", 400, "At least one of the requested keys corresponds to a non-json value");
      }
    }
    result.set(
      name,
      withMetadata
        ? ({ value, metadata: entry.metadata === null ? null : (JSON.parse(entry.metadata) as unknown), cacheStatus: null } satisfies KvGetWithMetadataResult<
            unknown,
            unknown
          >)
        : value,
    );
  }
  return result;
}

function bulkOptions(arg: unknown): { type: "text" | "json"; cacheTtl: number | undefined } {
  let type: unknown;
  let cacheTtl: number | undefined;
  if (typeof arg === "string") type = arg;
  else if (typeof arg === "object" && arg !== null) ({ type, cacheTtl } = arg as Partial<KvGetOptions<unknown>>);
  if (type === undefined || type === null || type === "text") return { type: "text", cacheTtl };
  if (type === "json") return { type, cacheTtl };
  throw kvFailure("GET_BULK", 400, `"${String(type)}" is not a valid type. Use "json" or "text"`);
}
