import { keyTooLong, kvFailure, type KvMethod } from "./errors.ts";
import { KV_LIMITS } from "./limits.ts";

/**
 * A key as it is stored: a string (workerd converts other primitives to strings the same way), with
 * lone surrogates replaced by U+FFFD, as its UTF-8 encoding does.
 */
export function toKeyString(key: unknown): string {
  const text = typeof key === "string" ? key : String(key);
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** workerd's client-side checks of a key: TypeErrors for empty, "." and "..", the 414 error for length. */
export function checkKey(method: KvMethod, key: string): void {
  if (key === "") throw new TypeError("Key name cannot be empty.");
  if (key === "." || key === "..") throw new TypeError(`"${key}" is not allowed as a key name.`);
  checkKeyLength(method, key);
}

export function checkKeyLength(method: KvMethod, key: string): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys need no count.
  if (key.length * 3 <= KV_LIMITS.maxKeyBytes) return;
  const bytes = Buffer.byteLength(key);
  if (bytes > KV_LIMITS.maxKeyBytes) throw keyTooLong(method, bytes);
}

/** The checks the KV server (Miniflare) makes of each key of a bulk get. */
export function checkBulkKey(key: string): void {
  if (key === "") throw kvFailure("GET_BULK", 400, "Key names must not be empty");
  if (key === "." || key === "..") throw kvFailure("GET_BULK", 400, `Illegal key name "${key}". Please use a different name.`);
  checkKeyLength("GET_BULK", key);
}
