/**
 * The limits of the Durable Object key-value API (`ctx.storage.get/put/delete/list` and
 * `transaction`), with Cloudflare's values and, where workerd has one, its error text.
 */
export const DURABLE_STORAGE_LIMITS = {
  /** Keys one batch call (`get(keys)`, `put(entries)`, `delete(keys)`) may name. */
  maxKeysPerCall: 128,
  /** Longest key, UTF-8 bytes. */
  maxKeyBytes: 2048,
  /**
   * A key and its serialized value together, bytes: "Key and value combined cannot exceed 2 MB" for
   * SQLite-backed objects (the 2 MB row limit of their SQLite). Read as 2 MiB, the more permissive
   * reading, so a value Cloudflare stores is stored here too.
   */
  maxEntryBytes: 2 * 1024 * 1024,
} as const;

const encoder = new TextEncoder();

/** Bytes `key` takes in UTF-8, as SQLite stores it. */
export function keyBytes(key: string): number {
  return encoder.encode(key).byteLength;
}

/** workerd's check for batch calls. */
export function checkKeyCount(count: number): void {
  const max = DURABLE_STORAGE_LIMITS.maxKeysPerCall;
  if (count > max) throw new RangeError(`Maximum number of key value pairs is ${max}. ${count} pairs were provided.`);
}

/** workerd's check on keys (the key is left out of the message: it may be large). */
export function checkKeySize(key: string): void {
  const size = keyBytes(key);
  const max = DURABLE_STORAGE_LIMITS.maxKeyBytes;
  if (size > max) throw new RangeError(`Keys cannot be larger than ${max} bytes. A key of size ${size} was provided.`);
}

/** A key and its value as stored must fit the SQLite row limit of SQLite-backed objects. */
export function checkEntrySize(key: string, value: Uint8Array): void {
  const size = keyBytes(key) + value.byteLength;
  const max = DURABLE_STORAGE_LIMITS.maxEntryBytes;
  if (size > max) {
    const shown = key.length > 64 ? `${JSON.stringify(key.slice(0, 64))}…` : JSON.stringify(key);
    throw new RangeError(
      `Key and value combined cannot exceed ${max} bytes (2 MB, the limit of SQLite-backed Durable Objects): ` +
        `key ${shown} and its serialized value take ${size} bytes.`,
    );
  }
}
