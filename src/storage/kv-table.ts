import { serialize } from "node:v8";
import { deserializeClone } from "../web/structured-clone.ts";
import type { AgentDatabase } from "./database.ts";

/**
 * The `_hearth_kv` table both key-value APIs use (the synchronous `ctx.storage.kv` and the
 * Durable Object `ctx.storage.get/put/…`), so they see the same data, as on Cloudflare. Values are
 * stored with the structured-clone serializer: Dates, Maps, Sets, typed arrays and cycles round-trip.
 */

/** Options of both APIs' `list`. Keys are compared by their UTF-8 bytes; `end` is exclusive. */
export interface KvListOptions {
  /** First key to include. Not together with `startAfter`. */
  start?: string;
  /** List the keys after this one. */
  startAfter?: string;
  /** Stop before this key. */
  end?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Descending order; `start`/`end` keep their meaning. */
  reverse?: boolean;
  /** At most this many entries: a positive number, fractions dropped, at most {@link MAX_LIST_LIMIT}. */
  limit?: number;
}

/** The largest `limit` a list takes: workerd reads it as a 32-bit signed integer. */
export const MAX_LIST_LIMIT = 2 ** 31 - 1;

/** One bound of a list: `key <op> value`. */
export interface KeyCondition {
  op: ">=" | ">" | "<";
  value: string;
}

/** A list request, checked: every condition must hold. */
export interface ListQuery {
  conditions: KeyCondition[];
  reverse: boolean;
  limit: number | undefined;
}

export function encodeValue(value: unknown): Uint8Array {
  return serialize(value);
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return deserializeClone(bytes) as T;
}

/** Checks list options with Cloudflare's rules and messages (workerd's `compileListOptions`). */
export function compileListOptions(options: KvListOptions | undefined): ListQuery {
  const { start, startAfter, end, prefix, reverse, limit } = options ?? {};
  for (const [name, value] of Object.entries({ start, startAfter, end, prefix })) {
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`list(): option ${name} must be a string, got ${typeof value}`);
    }
  }
  if (start !== undefined && startAfter !== undefined) {
    throw new TypeError("list() cannot be called with both start and startAfter values.");
  }
  let count: number | undefined;
  if (limit !== undefined) {
    count = typeof limit === "number" ? Math.trunc(limit) : NaN;
    if (!(count > 0)) throw new TypeError("List limit must be positive.");
    if (count > MAX_LIST_LIMIT) throw new TypeError(`List limit must be at most ${MAX_LIST_LIMIT}, got ${limit}.`);
  }
  const conditions: KeyCondition[] = [];
  if (prefix !== undefined && prefix !== "") {
    conditions.push({ op: ">=", value: prefix });
    const upper = prefixUpperBound(prefix);
    if (upper !== undefined) conditions.push({ op: "<", value: upper });
  }
  if (start !== undefined) conditions.push({ op: ">=", value: start });
  if (startAfter !== undefined) conditions.push({ op: ">", value: startAfter });
  if (end !== undefined) conditions.push({ op: "<", value: end });
  return { conditions, reverse: reverse === true, limit: count };
}

/** Orders keys as SQLite does: by their UTF-8 bytes (which is code point order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Whether `key` is inside the list's range (the same test the SQL makes). */
export function matches(key: string, conditions: readonly KeyCondition[]): boolean {
  for (const { op, value } of conditions) {
    const order = compareKeys(key, value);
    if (op === ">=" ? order < 0 : op === ">" ? order <= 0 : order >= 0) return false;
  }
  return true;
}

/** The stored value of `key`, serialized, or undefined. */
export function readEntry(db: AgentDatabase, key: string): Uint8Array | undefined {
  const row = db.statement("SELECT value FROM _hearth_kv WHERE key = ?").get(key);
  return row === undefined ? undefined : (row.value as Uint8Array);
}

export function writeEntry(db: AgentDatabase, key: string, value: Uint8Array): void {
  db.statement("INSERT INTO _hearth_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
    key,
    value,
  );
}

/** Removes `key`; true when it existed. */
export function deleteEntry(db: AgentDatabase, key: string): boolean {
  return Number(db.statement("DELETE FROM _hearth_kv WHERE key = ?").run(key).changes) > 0;
}

/** Entries in the list's range and order, values still serialized. `limit` overrides the query's. */
export function listEntries(db: AgentDatabase, query: ListQuery, limit = query.limit): Array<[string, Uint8Array]> {
  const where = query.conditions.map(({ op }) => `key ${op} ?`);
  const sql =
    `SELECT key, value FROM _hearth_kv${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}` +
    ` ORDER BY key ${query.reverse ? "DESC" : "ASC"} LIMIT ?`;
  const rows = db.statement(sql).all(...query.conditions.map((condition) => condition.value), limit ?? -1);
  return rows.map((row) => [row.key as string, row.value as Uint8Array]);
}

/**
 * The smallest string above every string that starts with `prefix`: its last code point raised by
 * one (UTF-8 byte order is code point order). Undefined when every code point is U+10FFFF.
 */
function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const code = points.pop()!.codePointAt(0)!;
    if (code < 0x10ffff) {
      const next = code + 1 === 0xd800 ? 0xe000 : code + 1; // surrogates are not characters
      return points.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}
