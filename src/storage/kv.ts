import { deserialize, serialize } from "node:v8";
import type { AgentDatabase } from "./database.ts";

/** Options for {@link KvStorage.list}. Keys are compared as strings; `end` is exclusive. */
export interface KvListOptions {
  prefix?: string;
  start?: string;
  end?: string;
  limit?: number;
  reverse?: boolean;
}

/**
 * Synchronous key-value storage in the agent's database. Values are stored with the structured-clone
 * serializer, so Dates, Maps, Sets, typed arrays and cycles round-trip.
 * @example
 * ctx.storage.kv.put("user:1", { name: "Ada" });
 * ctx.storage.kv.list({ prefix: "user:" }); // Map { "user:1" => { name: "Ada" } }
 */
export class KvStorage {
  readonly #db: AgentDatabase;
  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  get<T = unknown>(key: string): T | undefined {
    const row = this.#db.statement("SELECT value FROM _hearth_kv WHERE key = ?").get(checkKey(key));
    return row === undefined ? undefined : (deserialize(row.value as Uint8Array) as T);
  }

  put(key: string, value: unknown): void {
    if (value === undefined) throw new TypeError(`kv.put("${key}"): value is undefined; use kv.delete to remove a key`);
    this.#db
      .statement("INSERT INTO _hearth_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .run(checkKey(key), serialize(value));
  }

  /** Removes a key; true when it existed. */
  delete(key: string): boolean {
    return Number(this.#db.statement("DELETE FROM _hearth_kv WHERE key = ?").run(checkKey(key)).changes) > 0;
  }

  list<T = unknown>(options: KvListOptions = {}): Map<string, T> {
    const where: string[] = [];
    const params: string[] = [];
    if (options.prefix !== undefined && options.prefix !== "") {
      where.push("key >= ?");
      params.push(options.prefix);
      const upper = prefixUpperBound(options.prefix);
      if (upper !== undefined) {
        where.push("key < ?");
        params.push(upper);
      }
    }
    if (options.start !== undefined) {
      where.push("key >= ?");
      params.push(options.start);
    }
    if (options.end !== undefined) {
      where.push("key < ?");
      params.push(options.end);
    }
    const limit = options.limit ?? -1;
    if (!Number.isInteger(limit) || (limit < 1 && limit !== -1)) {
      throw new RangeError(`kv.list: limit must be a positive integer, got ${String(options.limit)}`);
    }
    const query =
      `SELECT key, value FROM _hearth_kv${where.length ? ` WHERE ${where.join(" AND ")}` : ""}` +
      ` ORDER BY key ${options.reverse ? "DESC" : "ASC"} LIMIT ${limit}`;
    const result = new Map<string, T>();
    for (const row of this.#db.statement(query).all(...params)) {
      result.set(row.key as string, deserialize(row.value as Uint8Array) as T);
    }
    return result;
  }
}

function checkKey(key: string): string {
  if (typeof key !== "string") throw new TypeError(`KV keys are strings, got ${typeof key}`);
  return key;
}

/** The smallest string greater than every string starting with `prefix` (SQLite compares UTF-8 bytes). */
function prefixUpperBound(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return undefined;
}
