import type { AgentDatabase } from "./database.ts";
import {
  compileListOptions,
  decodeValue,
  deleteEntry,
  encodeValue,
  listEntries,
  readEntry,
  writeEntry,
  type KvListOptions,
} from "./kv-table.ts";

export type { KvListOptions } from "./kv-table.ts";

/**
 * Synchronous key-value storage in the agent's database. Values are stored with the structured-clone
 * serializer, so Dates, Maps, Sets, typed arrays and cycles round-trip. A Durable Object's async
 * API (`ctx.storage.get/put/…`) reads and writes the same entries.
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
    const value = readEntry(this.#db, checkKey(key));
    return value === undefined ? undefined : decodeValue<T>(value);
  }

  put(key: string, value: unknown): void {
    if (value === undefined) throw new TypeError(`kv.put("${key}"): value is undefined; use kv.delete to remove a key`);
    writeEntry(this.#db, checkKey(key), encodeValue(value));
  }

  /** Removes a key; true when it existed. */
  delete(key: string): boolean {
    return deleteEntry(this.#db, checkKey(key));
  }

  /** Entries in key order (UTF-8 bytes), with Cloudflare's options: `start` or `startAfter`, `end`, `prefix`, `reverse`, `limit`. */
  list<T = unknown>(options: KvListOptions = {}): Map<string, T> {
    const result = new Map<string, T>();
    for (const [key, value] of listEntries(this.#db, compileListOptions(options))) result.set(key, decodeValue<T>(value));
    return result;
  }
}

function checkKey(key: string): string {
  if (typeof key !== "string") throw new TypeError(`KV keys are strings, got ${typeof key}`);
  return key;
}
