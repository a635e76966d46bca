/**
 * The limits of Workers KV, as Cloudflare documents them and Miniflare (wrangler dev) enforces them.
 * Every one is listed in docs/bindings/kv.md with its error text.
 */
export const KV_LIMITS = {
  /** Longest key, in UTF-8 bytes. */
  maxKeyBytes: 512,
  /** Largest value, in bytes (25 MiB). */
  maxValueBytes: 25 * 1024 * 1024,
  /** Largest metadata, JSON-encoded, in UTF-8 bytes. */
  maxMetadataBytes: 1024,
  /** Shortest `expirationTtl`, and how far in the future an `expiration` must be, in seconds. */
  minExpirationTtlSeconds: 60,
  /** Smallest `cacheTtl` accepted by `get`, in seconds (Miniflare's value; Cloudflare documents 60). */
  minCacheTtlSeconds: 30,
  /** Most keys one `list` call returns, and its default `limit`. */
  maxListKeys: 1000,
  /** Most keys one bulk `get` / `getWithMetadata` may ask for. */
  maxBulkKeys: 100,
  /** Largest total size of the values one bulk get returns, in bytes (25 MiB). */
  maxBulkBytes: 25 * 1024 * 1024,
} as const;
