import { isUtf8 } from "node:buffer";
import { checkKeyLength, toKeyString } from "./keys.ts";
import { kvFailure } from "./errors.ts";
import { KV_LIMITS } from "./limits.ts";

/** Options of `list`. */
export interface KvListOptions {
  /** Only keys that start with this. */
  prefix?: string | null;
  /** At most this many keys (1 to 1000; default 1000). */
  limit?: number;
  /** The `cursor` of the previous page; pass the same `prefix` with it. */
  cursor?: string | null;
}

/** What a list query needs: the key range and page size. */
export interface ListQuery {
  /** Keys at or after this (the prefix itself, or "" for all). */
  from: string;
  /** Keys strictly after this (the last key of the previous page, or ""). */
  after: string;
  /** Keys strictly before this; undefined when the prefix has no upper bound. */
  before: string | undefined;
  limit: number;
}

/** Checks `list`'s options with the KV server's texts and turns them into a key range. */
export function listQuery(options: KvListOptions | undefined | null): ListQuery {
  const { prefix, limit, cursor } = options ?? {};
  let pageSize: number = KV_LIMITS.maxListKeys;
  if (limit !== undefined && limit !== null) {
    const value = Math.trunc(Number(limit));
    if (Number.isNaN(value) || value < 1) {
      throw kvFailure("GET", 400, `Invalid key_count_limit of ${String(limit)}. Please specify an integer greater than 0.`);
    }
    if (value > KV_LIMITS.maxListKeys) {
      throw kvFailure("GET", 400, `Invalid key_count_limit of ${String(limit)}. Please specify an integer less than ${KV_LIMITS.maxListKeys}.`);
    }
    pageSize = value;
  }
  const from = prefix === undefined || prefix === null ? "" : toKeyString(prefix);
  checkKeyLength("GET", from);
  const after = cursor === undefined || cursor === null || cursor === "" ? "" : decodeCursor(String(cursor));
  return { from, after, before: from === "" ? undefined : prefixEnd(from), limit: pageSize };
}

/** The cursor that continues a listing after `lastKey`: its UTF-8 bytes in base64url (opaque to callers). */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, "utf8").toString("base64url");
}

/** The longest cursor {@link encodeCursor} makes: the base64url of a key of the most bytes. */
const MAX_CURSOR_LENGTH = Math.ceil((KV_LIMITS.maxKeyBytes * 4) / 3);

/** The error of a cursor `list` did not make, as a Worker sees it. */
export function invalidCursor(): Error {
  return kvFailure("GET", 400, "Invalid cursor: pass back the cursor of a previous list() unchanged.");
}

/**
 * The key a cursor of {@link encodeCursor} continues after. Base64url decoding skips characters it
 * does not know, so anything else would quietly list from some other key: the cursor must be the
 * exact base64url (no padding) of well-formed UTF-8 naming a key that can be stored.
 */
function decodeCursor(cursor: string): string {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  const bytes = Buffer.from(cursor, "base64url");
  if (bytes.toString("base64url") !== cursor || !isUtf8(bytes)) throw invalidCursor();
  const key = bytes.toString("utf8");
  if (key === "." || key === ".." || bytes.byteLength > KV_LIMITS.maxKeyBytes) throw invalidCursor();
  return key;
}

/**
 * The smallest string greater, in UTF-8 byte order, than every string starting with `prefix`:
 * the prefix with its last code point below U+10FFFF incremented and the rest dropped. UTF-8 byte
 * order is code point order, so this holds for any prefix. Undefined when no such string exists.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!);
  for (let i = points.length - 1; i >= 0; i--) {
    const point = points[i]!;
    if (point >= 0x10ffff) continue;
    // Surrogates are not characters (they never reach the file): skip over them.
    const next = point === 0xd7ff ? 0xe000 : point + 1;
    return String.fromCodePoint(...points.slice(0, i), next);
  }
  return undefined;
}
