import { kvFailure, UNKNOWN_RESPONSE_TYPE } from "./errors.ts";
import { KV_LIMITS } from "./limits.ts";
import type { KvValueType } from "./values.ts";

/** Options of `get` and `getWithMetadata` (the second argument may also be just the type). */
export interface KvGetOptions<Type = KvValueType> {
  type: Type;
  /** Seconds; validated (at least 30), otherwise ignored: there is no edge cache on one machine. */
  cacheTtl?: number;
}

/** Options of `put`. */
export interface KvPutOptions {
  /** When the key expires, in seconds since the epoch; at least 60 s in the future. */
  expiration?: number;
  /** Seconds from now until the key expires; at least 60. Takes precedence over `expiration`. */
  expirationTtl?: number;
  /** Any JSON-serializable value, at most 1024 bytes once serialized. */
  metadata?: unknown;
}

const VALUE_TYPES: ReadonlySet<string> = new Set(["text", "json", "arrayBuffer", "stream"]);

/** The second argument of `get` / `getWithMetadata` (a type name or an options object), read. */
export interface ReadOptions {
  type: KvValueType;
  cacheTtl: number | undefined;
}

const TEXT: ReadOptions = { type: "text", cacheTtl: undefined };

export function readOptions(arg: unknown): ReadOptions {
  if (arg === undefined || arg === null) return TEXT;
  if (typeof arg === "string") return { type: checkType(arg), cacheTtl: undefined };
  if (typeof arg !== "object") throw new TypeError(UNKNOWN_RESPONSE_TYPE);
  const { type, cacheTtl } = arg as Partial<KvGetOptions<unknown>>;
  return { type: type === undefined || type === null ? "text" : checkType(type), cacheTtl: cacheTtl ?? undefined };
}

function checkType(type: unknown): KvValueType {
  if (typeof type === "string" && VALUE_TYPES.has(type)) return type as KvValueType;
  throw new TypeError(UNKNOWN_RESPONSE_TYPE);
}

/** The KV server's check of `cacheTtl` (the value is otherwise unused). */
export function checkCacheTtl(method: "GET" | "GET_BULK", cacheTtl: number | undefined): void {
  if (cacheTtl === undefined) return;
  if (Number.isNaN(Number(cacheTtl)) || Number(cacheTtl) < KV_LIMITS.minCacheTtlSeconds) {
    throw kvFailure(method, 400, `Invalid cache_ttl of ${String(cacheTtl)}. Cache TTL must be at least ${KV_LIMITS.minCacheTtlSeconds}.`);
  }
}

/** A put's options, checked: the absolute expiration (epoch seconds) and the metadata's JSON. */
export interface CheckedPutOptions {
  expiration: number | null;
  metadata: string | null;
}

const NO_OPTIONS: CheckedPutOptions = { expiration: null, metadata: null };

/**
 * Checks a put's options as the KV server does, with its texts: `expirationTtl` first (it wins when both
 * are given), then `expiration`, then the metadata's size. Numbers are truncated to whole seconds.
 */
export function checkPutOptions(options: KvPutOptions | undefined | null, nowSeconds: number): CheckedPutOptions {
  if (options === undefined || options === null) return NO_OPTIONS;
  if (typeof options !== "object") throw new TypeError("KV put(): options must be an object");
  return { expiration: expirationOf(options, nowSeconds), metadata: metadataOf(options.metadata) };
}

function expirationOf(options: KvPutOptions, now: number): number | null {
  const { expirationTtl, expiration } = options;
  const minTtl = KV_LIMITS.minExpirationTtlSeconds;
  if (expirationTtl !== undefined && expirationTtl !== null) {
    const ttl = Math.trunc(Number(expirationTtl));
    if (!Number.isFinite(ttl) || ttl <= 0) {
      throw kvFailure("PUT", 400, `Invalid expiration_ttl of ${String(expirationTtl)}. Please specify integer greater than 0.`);
    }
    if (ttl < minTtl) {
      throw kvFailure("PUT", 400, `Invalid expiration_ttl of ${String(expirationTtl)}. Expiration TTL must be at least ${minTtl}.`);
    }
    return now + ttl;
  }
  if (expiration !== undefined && expiration !== null) {
    const at = Math.trunc(Number(expiration));
    if (!Number.isFinite(at) || at <= now) {
      throw kvFailure(
        "PUT",
        400,
        `Invalid expiration of ${String(expiration)}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
      );
    }
    if (at < now + minTtl) {
      throw kvFailure("PUT", 400, `Invalid expiration of ${String(expiration)}. Expiration times must be at least ${minTtl} seconds in the future.`);
    }
    return at;
  }
  return null;
}

function metadataOf(metadata: unknown): string | null {
  if (metadata === undefined || metadata === null) return null;
  const json = JSON.stringify(metadata) as string | undefined;
  if (json === undefined) throw new TypeError("KV put(): metadata must be a JSON-serializable value");
  // NaN and the like serialize to null: no metadata, as for null itself.
  if (json === "null") return null;
  // A code unit is at most 3 UTF-8 bytes: small metadata needs no count.
  const bytes = json.length * 3 <= KV_LIMITS.maxMetadataBytes ? json.length : Buffer.byteLength(json);
  if (bytes > KV_LIMITS.maxMetadataBytes) {
    throw kvFailure("PUT", 413, `Metadata length of ${bytes} exceeds limit of ${KV_LIMITS.maxMetadataBytes}.`);
  }
  return json;
}
