import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Durability } from "../../limits.ts";
import { inTransaction, openHostDatabase } from "../../storage/host-database.ts";
import type { LogEntry } from "./log-entry.ts";
import type { CompiledQuery } from "./log-query.ts";

/** How long and how much the SQLite file keeps. */
export interface LogRetention {
  /** Entries older than this are deleted. Default 7 days. */
  maxAgeMs?: number;
  /** At most this many entries are kept (the oldest go first). Default 1,000,000. */
  maxRows?: number;
}

export const DEFAULT_LOG_RETENTION: Required<LogRetention> = { maxAgeMs: 7 * 24 * 3_600_000, maxRows: 1_000_000 };
/** Retention runs after this many inserts, or this long after its last run, whichever is first. */
const RETENTION_EVERY_ROWS = 1_000;
const RETENTION_EVERY_MS = 60_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, level INTEGER NOT NULL,
    class TEXT, agent TEXT, trace_id TEXT, text TEXT NOT NULL, data TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS logs_time ON logs (time);
  CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id) WHERE trace_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS logs_agent ON logs (class, agent, id);`;

/** One entry ready to insert: the entry, its search text and its JSON. */
export interface LogRow {
  entry: LogEntry;
  text: string;
  json: string;
}

/** The log store's SQLite file: batched inserts, filtered pages newest first, retention by age and rows. */
export class LogTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #queries = new Map<string, StatementSync>();
  readonly #retention: Required<LogRetention>;
  readonly #now: () => number;
  #sinceRetention = 0;
  #retainedAt: number;

  constructor(path: string, durability: Durability, retention: LogRetention, now: () => number) {
    this.#retention = { ...DEFAULT_LOG_RETENTION, ...retention };
    this.#now = now;
    this.#db = openHostDatabase(path, durability, "log store", SCHEMA);
    this.#insert = this.#db.prepare("INSERT INTO logs (id, time, level, class, agent, trace_id, text, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    this.#retainedAt = now();
    this.retain();
  }

  /** The highest id stored (0 when empty): the store's sequence continues after it. */
  lastId(): number {
    return Number(this.#db.prepare("SELECT coalesce(max(id), 0) AS id FROM logs").get()?.id ?? 0);
  }

  /** Inserts a batch in one transaction; runs retention when it is due. */
  insert(rows: readonly LogRow[]): void {
    if (rows.length === 0) return;
    inTransaction(this.#db, () => {
      for (const { entry, text, json } of rows) {
        this.#insert.run(entry.id, entry.time, entry.level, entry.class ?? null, entry.agent ?? null, entry.traceId ?? null, text, json);
      }
    });
    this.#sinceRetention += rows.length;
    if (this.#sinceRetention >= RETENTION_EVERY_ROWS || this.#now() - this.#retainedAt >= RETENTION_EVERY_MS) this.retain();
  }

  /** Deletes entries older than the age limit and beyond the row limit; returns how many went. */
  retain(): number {
    this.#sinceRetention = 0;
    this.#retainedAt = this.#now();
    const old = this.#db.prepare("DELETE FROM logs WHERE time < ?").run(this.#retainedAt - this.#retention.maxAgeMs);
    const over = this.#db
      .prepare("DELETE FROM logs WHERE id <= (SELECT id FROM logs ORDER BY id DESC LIMIT 1 OFFSET ?)")
      .run(this.#retention.maxRows);
    return Number(old.changes) + Number(over.changes);
  }

  /** One page, newest first: `limit + 1` rows are read to know whether another page follows. */
  query({ filter, limit, before }: CompiledQuery): LogEntry[] {
    const where = ["id < ?"];
    const params: SQLInputValue[] = [before];
    const add = (condition: string, value: SQLInputValue | undefined): void => {
      if (value === undefined) return;
      where.push(condition);
      params.push(value);
    };
    add("level >= ?", filter.level);
    add("class = ?", filter.class);
    add("agent = ?", filter.agent);
    add("trace_id = ?", filter.traceId);
    add("time >= ?", filter.since);
    add("instr(text, ?) > 0", filter.q);
    const sql = `SELECT data FROM logs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`;
    let statement = this.#queries.get(sql);
    if (!statement) this.#queries.set(sql, (statement = this.#db.prepare(sql)));
    const rows = statement.all(...params, limit + 1) as Array<{ data: string }>;
    return rows.map((row) => JSON.parse(row.data) as LogEntry);
  }

  /** How many entries the file holds. */
  count(): number {
    return Number(this.#db.prepare("SELECT count(*) AS n FROM logs").get()?.n ?? 0);
  }

  close(): void {
    this.#queries.clear();
    this.#db.close();
  }
}
