import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Durability } from "../../limits.ts";
import { inTransaction, openHostDatabase } from "../../storage/host-database.ts";
import type { SpanRecord } from "./span-record.ts";
import { compareNewestFirst } from "./trace-query.ts";
import { summarizeTrace, type TraceSummary } from "./trace-summary.ts";

/** How long and how much the spans file keeps. */
export interface SpanRetention {
  /** Spans that ended longer ago than this are deleted. Default 7 days. */
  maxAgeMs?: number;
  /** At most this many spans are kept (the oldest go first). Default 1,000,000. */
  maxRows?: number;
}

export const DEFAULT_SPAN_RETENTION: Required<SpanRetention> = { maxAgeMs: 7 * 24 * 3_600_000, maxRows: 1_000_000 };
/** Retention runs after this many inserts, or this long after its last run, whichever is first. */
const RETENTION_EVERY_ROWS = 1_000;
const RETENTION_EVERY_MS = 60_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, ended_at REAL NOT NULL, data TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
  CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY, started_at REAL NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS traces_newest ON traces (started_at DESC, trace_id);`;
/** Rows looked at per retention run for age: spans are written in the order they end, oldest ids first. */
const AGE_SCAN_ROWS = 10_000;

/** The span store's SQLite file: batched inserts, a trace by id, the newest spans, retention. */
export class SpanTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #byTrace: StatementSync;
  readonly #putSummary: StatementSync;
  readonly #hasSummary: StatementSync;
  readonly #olderSummaries: StatementSync;
  readonly #retention: Required<SpanRetention>;
  readonly #now: () => number;
  #sinceRetention = 0;
  #retainedAt: number;

  constructor(path: string, durability: Durability, retention: SpanRetention, now: () => number) {
    this.#retention = { ...DEFAULT_SPAN_RETENTION, ...retention };
    for (const [key, value] of Object.entries(this.#retention)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`traces persist.${key} must be a positive number, got ${value}`);
    }
    this.#now = now;
    this.#db = openHostDatabase(path, durability, "span store", SCHEMA);
    this.#insert = this.#db.prepare("INSERT INTO spans (trace_id, ended_at, data) VALUES (?, ?, ?)");
    this.#byTrace = this.#db.prepare("SELECT data FROM spans WHERE trace_id = ? ORDER BY id");
    this.#putSummary = this.#db.prepare("INSERT OR REPLACE INTO traces (trace_id, started_at, data) VALUES (?, ?, ?)");
    this.#hasSummary = this.#db.prepare("SELECT 1 FROM traces WHERE trace_id = ?");
    this.#olderSummaries = this.#db.prepare(
      "SELECT data FROM traces WHERE started_at < ? OR (started_at = ? AND trace_id > ?) ORDER BY started_at DESC, trace_id LIMIT ?",
    );
    this.#retainedAt = now();
    this.retain();
  }

  /** Inserts a batch in one transaction; runs retention when it is due. */
  insert(spans: readonly SpanRecord[]): void {
    if (spans.length === 0) return;
    const byTrace = new Map<string, SpanRecord[]>();
    for (const span of spans) {
      const group = byTrace.get(span.traceId);
      if (group === undefined) byTrace.set(span.traceId, [span]);
      else group.push(span);
    }
    inTransaction(this.#db, () => {
      for (const span of spans) this.#insert.run(span.traceId, span.endedAt, JSON.stringify(span));
      // Each trace's summary from all its stored spans (the file keeps whole traces, so this is the
      // trace). A trace without a summary yet has no spans stored before this batch (the two are
      // written and deleted together): its spans are this batch's, not read back and parsed again.
      for (const [traceId, group] of byTrace) {
        const summary = summarizeTrace(traceId, this.#hasSummary.get(traceId) === undefined ? group : this.trace(traceId));
        this.#putSummary.run(traceId, summary.startedAt, JSON.stringify(summary));
      }
    });
    this.#sinceRetention += spans.length;
    if (this.#sinceRetention >= RETENTION_EVERY_ROWS || this.#now() - this.#retainedAt >= RETENTION_EVERY_MS) this.retain();
  }

  /** Every stored span of one trace, in the order they ended. */
  trace(traceId: string): SpanRecord[] {
    return this.#byTrace.all(traceId).map((row) => JSON.parse(String(row.data)) as SpanRecord);
  }

  /**
   * Trace summaries in the order {@link compareNewestFirst} lists them, strictly after `after` (or from
   * the newest), `count` at most.
   */
  summariesAfter(after: { startedAt: number; traceId: string } | undefined, count: number): TraceSummary[] {
    const from = after ?? { startedAt: Number.MAX_VALUE, traceId: "" };
    const rows = this.#olderSummaries.all(from.startedAt, from.startedAt, from.traceId, count);
    return rows.map((row) => JSON.parse(String(row.data)) as TraceSummary).sort(compareNewestFirst);
  }

  /** The stored summaries of those of `traceIds` the file has, by trace id. */
  summaries(traceIds: readonly string[]): Map<string, TraceSummary> {
    const found = new Map<string, TraceSummary>();
    if (traceIds.length === 0) return found;
    const rows = this.#db.prepare("SELECT trace_id, data FROM traces WHERE trace_id IN (SELECT value FROM json_each(?))").all(JSON.stringify(traceIds));
    for (const row of rows) found.set(String(row.trace_id), JSON.parse(String(row.data)) as TraceSummary);
    return found;
  }

  /**
   * The newest traces, whole, `count` spans at most, their spans oldest first (to refill the memory
   * store at start: a trace cut part-way would be listed as less than it was).
   */
  newestTraces(count: number): SpanRecord[] {
    const recent = this.#db
      .prepare("SELECT trace_id, max(id) AS last FROM (SELECT id, trace_id FROM spans ORDER BY id DESC LIMIT ?) GROUP BY trace_id ORDER BY last DESC")
      .all(count);
    const size = this.#db.prepare("SELECT count(*) AS n FROM spans WHERE trace_id = ?");
    const rows = this.#db.prepare("SELECT id, data FROM spans WHERE trace_id = ?");
    const kept: Array<{ id: number; data: string }> = [];
    let total = 0;
    for (const row of recent) {
      const traceId = String(row.trace_id);
      const n = Number(size.get(traceId)?.n ?? 0);
      if (total + n > count) break;
      total += n;
      for (const row of rows.all(traceId)) kept.push({ id: Number(row.id), data: String(row.data) });
    }
    return kept.sort((a, b) => a.id - b.id).map((row) => JSON.parse(row.data) as SpanRecord);
  }

  /**
   * Deletes the traces with a span older than the age limit (among the oldest rows) or beyond the row
   * limit, each whole and its summary with it (a trace cut part-way would be listed as more than it
   * still is); returns how many spans went.
   */
  retain(): number {
    this.#sinceRetention = 0;
    this.#retainedAt = this.#now();
    // Spans are written in about the order they end: the oldest ids are the oldest spans. Walking the
    // oldest rows by id spares an index on ended_at (one B-tree write less per span). Ids only grow, so
    // the newest id minus the limit is the row limit's line: no OFFSET scan over the rows kept.
    const leaving = this.#db
      .prepare(
        `SELECT trace_id FROM spans WHERE id IN (SELECT id FROM spans ORDER BY id LIMIT ?) AND ended_at < ?
         UNION SELECT trace_id FROM spans WHERE id <= (SELECT max(id) FROM spans) - ?`,
      )
      .all(AGE_SCAN_ROWS, this.#retainedAt - this.#retention.maxAgeMs, this.#retention.maxRows);
    if (leaving.length === 0) return 0;
    const spans = this.#db.prepare("DELETE FROM spans WHERE trace_id = ?");
    const summary = this.#db.prepare("DELETE FROM traces WHERE trace_id = ?");
    let removed = 0;
    inTransaction(this.#db, () => {
      for (const row of leaving) {
        const traceId = String(row.trace_id);
        removed += Number(spans.run(traceId).changes);
        summary.run(traceId);
      }
    });
    return removed;
  }

  /** Rows stored now. */
  count(): number {
    return Number(this.#db.prepare("SELECT count(*) AS n FROM spans").get()?.n ?? 0);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
