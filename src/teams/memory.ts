/**
 * Team memory across runs: a namespaced key-value store with a time to live, for what a team should
 * remember between runs (a user's preferences, a conversation's summary). Backed by a KV namespace
 * binding when one is given, else by the owner's own SQLite.
 */
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";

/** The slice of a KV namespace binding team memory uses. */
export interface KvLike {
  get(key: string, type: "json"): Promise<unknown>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A namespaced memory. */
export interface TeamMemory {
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON) for `ttlSeconds` (default the memory's; at least 60). */
  put(key: string, value: unknown, options?: { ttlSeconds?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Default time to live of team memory: 7 days. */
export const DEFAULT_MEMORY_TTL_SECONDS = 7 * 24 * 3600;
/** Largest value team memory stores, in bytes of JSON (KV's own limit is 25 MiB). */
export const MAX_MEMORY_VALUE_BYTES = 1024 * 1024;

const TABLE = "_hearth_team_memory";

/**
 * Memory for `namespace` (e.g. `conversations`), in `store`: a KV binding (`env.MEMORY`) or an agent
 * (its own SQLite).
 * @example
 * const memory = teamMemory(this.env.MEMORY, "conversations", { ttlSeconds: 7 * 86_400 });
 * await memory.put(userId, { summary });
 */
export function teamMemory(store: KvLike | object, namespace: string, options: { ttlSeconds?: number } = {}): TeamMemory {
  if (typeof namespace !== "string" || namespace.length === 0 || namespace.length > 128 || namespace.includes(":")) {
    throw new TypeError(`A team memory namespace must be 1-128 characters without ":" (got ${JSON.stringify(namespace)})`);
  }
  const defaultTtl = ttl(options.ttlSeconds ?? DEFAULT_MEMORY_TTL_SECONDS);
  const fullKey = (key: string) => {
    if (typeof key !== "string" || key.length === 0 || key.length > 384) throw new TypeError("A team memory key must be 1-384 characters");
    return `team:${namespace}:${key}`;
  };
  const encode = (value: unknown) => {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("Team memory stores JSON values");
    if (Buffer.byteLength(json) > MAX_MEMORY_VALUE_BYTES) throw new RangeError(`A team memory value may be at most ${MAX_MEMORY_VALUE_BYTES} bytes of JSON`);
    return json;
  };
  if (isKv(store)) {
    return {
      get: async <T>(key: string) => ((await store.get(fullKey(key), "json")) ?? undefined) as T | undefined,
      put: (key, value, put = {}) => store.put(fullKey(key), encode(value), { expirationTtl: ttl(put.ttlSeconds ?? defaultTtl) }),
      delete: (key) => store.delete(fullKey(key)),
    };
  }
  const runtime = (store as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  if (!runtime) throw new TypeError("teamMemory(store): give a KV namespace binding or an agent");
  const db = () => {
    if (!runtime.db.hasTable(TABLE)) {
      runtime.db.execScript(
        `CREATE TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID; CREATE INDEX IF NOT EXISTS ${TABLE}_expiry ON ${TABLE} (expires_at);`,
      );
    }
    return runtime.db;
  };
  return {
    get: <T>(key: string) => {
      const row = db().statement(`SELECT value, expires_at FROM ${TABLE} WHERE key = ?`).get(fullKey(key)) as { value: string; expires_at: number } | undefined;
      if (!row) return Promise.resolve(undefined);
      if (row.expires_at <= runtime.clock.now()) {
        db().statement(`DELETE FROM ${TABLE} WHERE key = ?`).run(fullKey(key));
        return Promise.resolve(undefined);
      }
      return Promise.resolve(JSON.parse(row.value) as T);
    },
    put: (key, value, put = {}) => {
      const expires = runtime.clock.now() + ttl(put.ttlSeconds ?? defaultTtl) * 1000;
      db().statement(`INSERT OR REPLACE INTO ${TABLE} (key, value, expires_at) VALUES (?, ?, ?)`).run(fullKey(key), encode(value), expires);
      db().statement(`DELETE FROM ${TABLE} WHERE expires_at <= ?`).run(runtime.clock.now());
      return Promise.resolve();
    },
    delete: (key) => {
      db().statement(`DELETE FROM ${TABLE} WHERE key = ?`).run(fullKey(key));
      return Promise.resolve();
    },
  };
}

function isKv(store: unknown): store is KvLike {
  const kv = store as Partial<KvLike> | null;
  return typeof kv?.get === "function" && typeof kv.put === "function" && typeof kv.delete === "function" && !(AGENT_RUNTIME in (store as object));
}

function ttl(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 60) throw new RangeError(`A team memory TTL must be a whole number of seconds ≥ 60 (KV's minimum); got ${seconds}`);
  return seconds;
}
