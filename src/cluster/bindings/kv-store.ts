import { createHash } from "node:crypto";
import type pg from "pg";
import type { KvBackend, StoredEntry, StoredKey, StoredValue } from "../../kv/backend.ts";
import { kvFailure, type KvMethod } from "../../kv/errors.ts";
import { invalidCursor } from "../../kv/list.ts";
import type { Clock } from "../../time/clock.ts";
import { KvPurger } from "./kv-purge.ts";
import { ensureKvTable, kvTableName } from "./kv-table.ts";
import { KvWriteQueue, type KvRow } from "./kv-writes.ts";

/** Expired keys deleted per purge statement. */
const PURGE_BATCH = 1_000;

/** Postgres text cannot hold U+0000, so such a key can never be stored in the cluster. */
const NUL = "\u0000";

export interface PostgresKvStoreOptions {
  pool: pg.Pool;
  /** The namespace's id: rows of the shared table are keyed by it. */
  namespace: string;
  schema: string;
  clock: Clock;
}

type EntryRow = [Buffer, string | null, string | null];
type KeyRow = [string, string | null, string | null];

/**
 * One KV namespace in the cluster's Postgres table: every node that opens the same namespace id sees
 * the same keys. Reads filter expired rows; writes of a turn are committed together (see
 * {@link KvWriteQueue}) and a write resolves only once Postgres has committed it. Reads wait for this
 * object's outstanding writes first, so a caller always reads its own writes.
 */
export class PostgresKvStore implements KvBackend {
  readonly label: string;
  readonly clock: Clock;
  readonly #pool: pg.Pool;
  readonly #namespace: string;
  readonly #schema: string;
  readonly #sql: Statements;
  readonly #writes: KvWriteQueue;
  readonly #purger: KvPurger;
  #ready = false;
  #open = true;

  constructor(options: PostgresKvStoreOptions) {
    if (typeof options.namespace !== "string" || options.namespace === "" || options.namespace.includes(NUL)) {
      throw new TypeError(`KV namespace id ${JSON.stringify(options.namespace)} must be a non-empty string without U+0000`);
    }
    this.#pool = options.pool;
    this.#namespace = options.namespace;
    this.#schema = options.schema;
    this.#sql = statements(kvTableName(options.schema));
    this.label = options.namespace;
    this.clock = options.clock;
    this.#writes = new KvWriteQueue((rows) => this.#commit(rows));
    this.#purger = new KvPurger(options.clock, (now) => this.#purgeExpired(now));
    this.#purger.start();
  }

  get isOpen(): boolean {
    return this.#open;
  }

  async get(key: string, nowSeconds: number): Promise<StoredEntry | undefined> {
    if (key.includes(NUL)) return undefined;
    const { rows } = await this.#read<EntryRow>("GET", this.#sql.get, [this.#namespace, key, nowSeconds]);
    const row = rows[0];
    return row === undefined ? undefined : entryOf(row);
  }

  async getMany(keys: readonly string[], nowSeconds: number): Promise<Array<StoredEntry | undefined>> {
    const wanted = keys.filter((key) => !key.includes(NUL));
    const found = new Map<string, StoredEntry>();
    if (wanted.length > 0) {
      const { rows } = await this.#read<[string, ...EntryRow]>("GET_BULK", this.#sql.getMany, [this.#namespace, wanted, nowSeconds]);
      for (const [name, ...entry] of rows) found.set(name, entryOf(entry));
    }
    return keys.map((key) => found.get(key));
  }

  put(key: string, value: StoredValue, expiration: number | null, metadata: string | null): Promise<void> {
    if (key.includes(NUL)) return Promise.reject(kvFailure("PUT", 400, "Key names stored in the cluster cannot contain U+0000 (NUL)."));
    // Copied now: the caller may reuse its buffer before the turn's batch is sent.
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    return this.#written("PUT", this.#writes.write(key, { value: bytes, expiration, metadata }));
  }

  delete(key: string): Promise<void> {
    if (key.includes(NUL)) return Promise.resolve();
    return this.#written("DELETE", this.#writes.write(key, null));
  }

  async list(from: string, after: string, before: string | undefined, nowSeconds: number, limit: number): Promise<StoredKey[]> {
    // No stored key holds U+0000: a prefix with one matches nothing, and a cursor with one was not
    // made by a listing here, so it is refused like any other such cursor.
    if (after.includes(NUL)) throw invalidCursor();
    if (from.includes(NUL)) return [];
    const { rows } =
      before === undefined
        ? await this.#read<KeyRow>("GET", this.#sql.listOpen, [this.#namespace, from, after, nowSeconds, limit])
        : await this.#read<KeyRow>("GET", this.#sql.listBounded, [this.#namespace, from, after, before, nowSeconds, limit]);
    return rows.map(([name, expiration, metadata]) => ({ name, expiration: expiration === null ? null : Number(expiration), metadata }));
  }

  /** Stops the purge and sends the writes of this turn at once; they still commit (or fail) after. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#purger.stop();
    this.#writes.flush();
  }

  async #read<Row extends unknown[]>(method: KvMethod, statement: pg.QueryConfig, values: unknown[]): Promise<pg.QueryArrayResult<Row>> {
    try {
      await this.#ensureTable();
      const pending = this.#writes.settled();
      if (pending !== undefined) await pending;
      return await this.#pool.query<Row>({ ...statement, values, rowMode: "array" });
    } catch (error) {
      throw storageFailure(method, error);
    }
  }

  async #written(method: KvMethod, write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (error) {
      throw storageFailure(method, error);
    }
  }

  async #commit(rows: ReadonlyMap<string, KvRow | null>): Promise<void> {
    await this.#ensureTable();
    if (rows.size === 1) {
      const [key, row] = rows.entries().next().value!;
      if (row === null) await this.#pool.query({ ...this.#sql.deleteOne, values: [this.#namespace, key] });
      else await this.#pool.query({ ...this.#sql.putOne, values: [this.#namespace, key, row.value, row.expiration, row.metadata] });
      return;
    }
    const deletes: string[] = [];
    const keys: string[] = [];
    const values: Uint8Array[] = [];
    const expirations: Array<number | null> = [];
    const metadata: Array<string | null> = [];
    for (const [key, row] of rows) {
      if (row === null) {
        deletes.push(key);
        continue;
      }
      keys.push(key);
      values.push(row.value);
      expirations.push(row.expiration);
      metadata.push(row.metadata);
    }
    await this.#pool.query({ ...this.#sql.writeMany, values: [this.#namespace, deletes, keys, values, expirations, metadata] });
  }

  async #purgeExpired(nowSeconds: number): Promise<boolean> {
    await this.#ensureTable();
    const { rowCount } = await this.#pool.query({ ...this.#sql.purge, values: [this.#namespace, nowSeconds, PURGE_BATCH] });
    return (rowCount ?? 0) >= PURGE_BATCH;
  }

  async #ensureTable(): Promise<void> {
    if (this.#ready) return;
    await ensureKvTable(this.#pool, this.#schema);
    this.#ready = true;
  }
}

function entryOf([value, expiration, metadata]: EntryRow): StoredEntry {
  return { value, expiration: expiration === null ? null : Number(expiration), metadata };
}

/** A Postgres failure as a Worker sees it: `KV <METHOD> failed: 503 …`, the driver's error as cause. */
function storageFailure(method: KvMethod, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const failure = kvFailure(method, 503, `The cluster's Postgres did not complete the request: ${message}`);
  failure.cause = error;
  return failure;
}

interface Statements {
  get: pg.QueryConfig;
  getMany: pg.QueryConfig;
  listOpen: pg.QueryConfig;
  listBounded: pg.QueryConfig;
  putOne: pg.QueryConfig;
  deleteOne: pg.QueryConfig;
  writeMany: pg.QueryConfig;
  purge: pg.QueryConfig;
}

/**
 * The store's SQL, as named statements (pg prepares each once per connection). Names carry a digest
 * of the table's name: Postgres cuts names at 63 bytes, and a long schema name must not collide.
 */
function statements(table: string): Statements {
  const live = "(expiration IS NULL OR expiration > $3)";
  const tag = createHash("sha256").update(table).digest("hex").slice(0, 16);
  const named = (name: string, text: string): pg.QueryConfig => ({ name: `hearth_kv_${name}_${tag}`, text });
  const list = `SELECT key, expiration, metadata FROM ${table} WHERE namespace = $1 AND key >= $2 AND key > $3`;
  return {
    get: named("get", `SELECT value, expiration, metadata FROM ${table} WHERE namespace = $1 AND key = $2 AND ${live}`),
    getMany: named("get_many", `SELECT key, value, expiration, metadata FROM ${table} WHERE namespace = $1 AND key = ANY($2::text[]) AND ${live}`),
    listOpen: named("list_open", `${list} AND (expiration IS NULL OR expiration > $4) ORDER BY key LIMIT $5`),
    listBounded: named("list_bounded", `${list} AND key < $4 AND (expiration IS NULL OR expiration > $5) ORDER BY key LIMIT $6`),
    putOne: named(
      "put_one",
      `INSERT INTO ${table} (namespace, key, value, expiration, metadata) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata`,
    ),
    deleteOne: named("delete_one", `DELETE FROM ${table} WHERE namespace = $1 AND key = $2`),
    // Keys of a batch are distinct, so the delete and the upsert never meet on a row.
    writeMany: named(
      "write_many",
      `WITH gone AS (DELETE FROM ${table} WHERE namespace = $1 AND key = ANY($2::text[]))
       INSERT INTO ${table} (namespace, key, value, expiration, metadata)
       SELECT $1, k, v, e, m FROM unnest($3::text[], $4::bytea[], $5::bigint[], $6::text[]) AS batch(k, v, e, m)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata`,
    ),
    // SKIP LOCKED: nodes purging the same namespace at once share the rows instead of waiting.
    purge: named(
      "purge",
      `DELETE FROM ${table} WHERE (namespace, key) IN (
         SELECT namespace, key FROM ${table} WHERE namespace = $1 AND expiration <= $2
         ORDER BY expiration LIMIT $3 FOR UPDATE SKIP LOCKED)`,
    ),
  };
}
