import type { AgentDatabase } from "../storage/database.ts";
import type { TaskFailure, TaskRef } from "./types.ts";

/** A connection whose next run is due within this many ms is not parked before it. */
const KEEP_OPEN_AHEAD_MS = 5_000;
/** … and not for this long after that time either (the run may start a little late). */
const KEEP_OPEN_AFTER_MS = 1_000;

/** A row of `_hearth_schedules` or `_hearth_queue`, as stored. */
export interface TaskRow {
  id: string;
  callback: string;
  payload: string | null;
  /** Schedules only. */
  type?: string;
  due_at: number;
  cron?: string | null;
  timezone?: string | null;
  interval_ms?: number | null;
  delay_ms?: number | null;
  retry: string | null;
  attempts: number;
  /** Runs started and not finished: a crash (or hang) leaves this above zero. */
  started: number;
  tripped_at: number | null;
  last_error: string | null;
  created_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_schedules (
  id TEXT PRIMARY KEY, callback TEXT NOT NULL, payload TEXT, type TEXT NOT NULL, due_at INTEGER NOT NULL,
  cron TEXT, timezone TEXT, interval_ms INTEGER, delay_ms INTEGER, retry TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL DEFAULT 0,
  tripped_at INTEGER, last_error TEXT, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS _hearth_schedules_due ON _hearth_schedules (due_at) WHERE tripped_at IS NULL;
CREATE TABLE IF NOT EXISTS _hearth_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, callback TEXT NOT NULL, payload TEXT,
  due_at INTEGER NOT NULL, retry TEXT, attempts INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL DEFAULT 0,
  tripped_at INTEGER, last_error TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS _hearth_task_failures (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, task_id TEXT NOT NULL, callback TEXT NOT NULL,
  payload TEXT, error TEXT NOT NULL, attempts INTEGER NOT NULL, failed_at INTEGER NOT NULL
);`;

/** Failures kept per agent; older ones are dropped. */
const MAX_FAILURES_KEPT = 1000;

/** The earliest due time among an agent's schedules (`at`, null when there are none). */
export const SCHEDULES_NEXT_DUE_SQL = "SELECT min(due_at) AS at FROM _hearth_schedules WHERE tripped_at IS NULL";
/** The queue's head: its first item not stopped by the breaker. */
export const QUEUE_HEAD_SQL = "SELECT * FROM _hearth_queue WHERE tripped_at IS NULL ORDER BY seq LIMIT 1";

/** The earliest time anything is due, from the schedules' earliest and the queue head's due time. */
export function earliestDue(scheduleAt: number | null | undefined, queueAt: number | null | undefined): number | null {
  const times = [scheduleAt, queueAt].filter((at): at is number => typeof at === "number");
  return times.length === 0 ? null : Math.min(...times);
}

const TABLE = { schedule: "_hearth_schedules", queue: "_hearth_queue" } as const;
const DELETE_SQL = { schedule: `DELETE FROM ${TABLE.schedule} WHERE id = ?`, queue: `DELETE FROM ${TABLE.queue} WHERE id = ?` } as const;
/**
 * The two earliest schedules not stopped by the breaker: the one to run, and when the next is due.
 * Schedules due at the same time run in the order they were made (the rowid), as Cloudflare's do.
 */
const SCHEDULE_HEAD_SQL = "SELECT * FROM _hearth_schedules WHERE tripped_at IS NULL ORDER BY due_at, rowid LIMIT 2";
/**
 * Files from before the order above index (due_at, id): the index on due_at alone (whose rows end
 * in the rowid) replaces it at the first write of each wake, so the head is found without a sort.
 */
const INDEX_UPGRADE = `CREATE INDEX IF NOT EXISTS _hearth_schedules_due ON _hearth_schedules (due_at) WHERE tripped_at IS NULL;
DROP INDEX IF EXISTS _hearth_schedules_next;`;
const OLD_INDEX_SQL = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = '_hearth_schedules_next'";

/**
 * The SQL of an agent's schedules, queue and failure log, in the agent's own database (so `destroy()`
 * and backups carry them). Tables are created on first use; an agent that never schedules has none.
 */
export class TaskStore {
  readonly #db: AgentDatabase;
  #exists: boolean | undefined;
  /** The schedules' due index is known to be the current one (checked at the first write of each wake). */
  #indexed = false;
  /** Known to have no queue item (most agents never queue): skips the queue query. Undefined: unknown. */
  #queueEmpty: boolean | undefined;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** True once the tables exist (reads on an agent without them return nothing and create nothing). */
  get exists(): boolean {
    this.#exists ??= this.#db.hasTable("_hearth_schedules");
    return this.#exists;
  }

  /** Creates the tables if needed; every write starts here. */
  ensure(): void {
    if (this.#indexed) return;
    if (!this.exists) this.#db.execScript(SCHEMA);
    else if (this.#db.statement(OLD_INDEX_SQL).get() !== undefined) this.#db.execScript(INDEX_UPGRADE); // a read, not DDL, once the file is upgraded
    this.#exists = true;
    this.#indexed = true;
  }

  /** Forget cached knowledge (after a rollback the tables may be gone again). */
  invalidate(): void {
    this.#exists = undefined;
    this.#indexed = false;
    this.#queueEmpty = undefined;
  }

  get(ref: TaskRef): TaskRow | undefined {
    if (!this.exists) return undefined;
    return this.#db.statement(`SELECT * FROM ${TABLE[ref.kind]} WHERE id = ?`).get(ref.id) as TaskRow | undefined;
  }

  /** Inserts a new schedule; returns its row as stored (with the columns' defaults). */
  insertSchedule(row: Omit<TaskRow, "attempts" | "started" | "tripped_at" | "last_error">): TaskRow {
    this.ensure();
    this.#db
      .statement(
        `INSERT INTO _hearth_schedules (id, callback, payload, type, due_at, cron, timezone, interval_ms, delay_ms, retry, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.callback,
        row.payload,
        row.type!,
        row.due_at,
        row.cron ?? null,
        row.timezone ?? null,
        row.interval_ms ?? null,
        row.delay_ms ?? null,
        row.retry,
        row.created_at,
      );
    return { ...row, attempts: 0, started: 0, tripped_at: null, last_error: null };
  }

  /** An existing schedule that an idempotent `schedule()` / `scheduleEvery()` returns instead of a new one. */
  findSame(row: Pick<TaskRow, "callback" | "payload" | "type" | "cron" | "timezone" | "interval_ms">): TaskRow | undefined {
    if (!this.exists) return undefined;
    return this.#db
      .statement(
        `SELECT * FROM _hearth_schedules WHERE callback = ? AND type = ? AND payload IS ? AND cron IS ? AND timezone IS ?
         AND interval_ms IS ? ORDER BY rowid LIMIT 1`,
      )
      .get(row.callback, row.type!, row.payload, row.cron ?? null, row.timezone ?? null, row.interval_ms ?? null) as
      | TaskRow
      | undefined;
  }

  /** Adds a queue item at the tail, or replaces the item with the same id in place. */
  upsertQueueItem(row: Pick<TaskRow, "id" | "callback" | "payload" | "retry" | "due_at" | "created_at">): void {
    this.ensure();
    this.#queueEmpty = false;
    this.#db
      .statement(
        `INSERT INTO _hearth_queue (id, callback, payload, retry, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET callback = excluded.callback, payload = excluded.payload, retry = excluded.retry,
           due_at = excluded.due_at, attempts = 0, started = 0, tripped_at = NULL, last_error = NULL`,
      )
      .run(row.id, row.callback, row.payload, row.retry, row.due_at, row.created_at);
  }

  /**
   * Puts a queue item first in line, due at `dueAt`, with its breaker cleared; its attempts and last
   * error stay (its next run is its next attempt). First in line: a `seq` below every other item's, as
   * the head query orders by it (negative values are fine for a rowid, and AUTOINCREMENT still gives
   * new items the next number after the largest ever used, so they keep joining the tail). False when
   * there is no such item.
   */
  promoteQueueItem(id: string, dueAt: number): boolean {
    if (!this.exists) return false;
    this.ensure();
    const result = this.#db
      .statement("UPDATE _hearth_queue SET seq = (SELECT min(seq) FROM _hearth_queue) - 1, due_at = ?, started = 0, tripped_at = NULL WHERE id = ?")
      .run(dueAt, id);
    if (Number(result.changes) === 0) return false;
    this.#queueEmpty = false;
    return true;
  }

  listSchedules(filter: { id?: string; type?: string; start?: number; end?: number }): TaskRow[] {
    if (!this.exists) return [];
    return this.#db
      .statement(
        `SELECT * FROM _hearth_schedules WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR type = ?2)
         AND (?3 IS NULL OR due_at >= ?3) AND (?4 IS NULL OR due_at <= ?4) ORDER BY due_at, rowid`,
      )
      .all(filter.id ?? null, filter.type ?? null, filter.start ?? null, filter.end ?? null) as unknown as TaskRow[];
  }

  /** Queue items in order. */
  listQueue(): TaskRow[] {
    if (!this.exists) return [];
    return this.#db.statement("SELECT * FROM _hearth_queue ORDER BY seq").all() as unknown as TaskRow[];
  }

  /** Ids of the queue items (of one callback, if given). */
  queueIds(callback?: string): string[] {
    if (!this.exists) return [];
    const rows =
      callback === undefined
        ? this.#db.statement("SELECT id FROM _hearth_queue").all()
        : this.#db.statement("SELECT id FROM _hearth_queue WHERE callback = ?").all(callback);
    return (rows as Array<{ id: string }>).map((row) => row.id);
  }

  delete(ref: TaskRef): boolean {
    if (!this.exists) return false;
    return Number(this.#db.statement(DELETE_SQL[ref.kind]).run(ref.id).changes) > 0;
  }

  deleteQueue(callback?: string): number {
    if (!this.exists) return 0;
    const result =
      callback === undefined
        ? this.#db.statement("DELETE FROM _hearth_queue").run()
        : this.#db.statement("DELETE FROM _hearth_queue WHERE callback = ?").run(callback);
    return Number(result.changes);
  }

  /** A run of this task never finished: the process crashed (or the run hung) under it. */
  countCrash(ref: TaskRef): void {
    if (!this.exists) return;
    this.#db.statement(`UPDATE ${TABLE[ref.kind]} SET started = started + 1 WHERE id = ?`).run(ref.id);
  }

  /** Sets the next run and the bookkeeping after a run ended (well, badly, or not at all). */
  update(
    ref: TaskRef,
    fields: { due_at: number; attempts: number; started: number; last_error: string | null; tripped_at?: number | null },
  ): void {
    this.#db
      .statement(
        `UPDATE ${TABLE[ref.kind]} SET due_at = ?, attempts = ?, started = ?, last_error = ?,
         tripped_at = ? WHERE id = ?`,
      )
      .run(fields.due_at, fields.attempts, fields.started, fields.last_error, fields.tripped_at ?? null, ref.id);
  }

  /**
   * The earliest task due at `now` (schedules and the queue's head, by due time), with its row. When
   * it is a schedule and the queue is empty, `then` is when the next task is due once this one is
   * done (null: none), read in the same query; undefined when it is not known that way.
   */
  nextDueTask(now: number): { ref: TaskRef; row: TaskRow; then?: number | null } | undefined {
    if (!this.exists) return undefined;
    const [first, second] = this.#db.statement(SCHEDULE_HEAD_SQL).all() as unknown as TaskRow[];
    const schedule = first && first.due_at <= now ? first : undefined;
    const head = this.#queueHead();
    const queueDue = head && head.due_at <= now ? head : undefined;
    if (schedule && (!queueDue || schedule.due_at <= queueDue.due_at)) {
      const then = head === undefined ? (second?.due_at ?? null) : undefined;
      return { ref: { kind: "schedule", id: schedule.id }, row: schedule, then };
    }
    return queueDue ? { ref: { kind: "queue", id: queueDue.id }, row: queueDue } : undefined;
  }

  /** Opens the connection (if parked) and prepares what a run reads: for an agent due soon. */
  /**
   * A run due at `at` within {@link KEEP_OPEN_AHEAD_MS} of `now` keeps the connection from being
   * parked until just after it: reopening the file for each run costs more than keeping it open.
   */
  keepOpenUntil(at: number, now: number): void {
    if (at - now <= KEEP_OPEN_AHEAD_MS) this.#db.keepOpenFor(Math.max(0, at - now) + KEEP_OPEN_AFTER_MS);
  }

  prepareRun(): void {
    if (!this.exists) return;
    this.#db.statement(SCHEDULE_HEAD_SQL);
    this.#db.statement(DELETE_SQL.schedule);
    this.#queueHead();
  }

  /** Ends a run that finished: moves a recurring task on to its next time. */
  finishAdvance(ref: TaskRef, dueAt: number): boolean {
    return (
      Number(
        this.#db
          .statement(`UPDATE ${TABLE[ref.kind]} SET due_at = ?, attempts = 0, started = 0, last_error = NULL WHERE id = ?`)
          .run(dueAt, ref.id).changes,
      ) > 0
    );
  }

  /** The earliest time anything is due, or null when nothing is pending. */
  nextDue(): number | null {
    if (!this.exists) return null;
    const schedule = this.#db.statement(SCHEDULES_NEXT_DUE_SQL).get() as { at: number | null };
    return earliestDue(schedule.at, this.#queueHead()?.due_at);
  }

  recordFailure(failure: TaskFailure): void {
    this.ensure();
    this.#db
      .statement(
        `INSERT INTO _hearth_task_failures (kind, task_id, callback, payload, error, attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        failure.kind,
        failure.taskId,
        failure.callback,
        failure.payload === undefined ? null : JSON.stringify(failure.payload),
        failure.error,
        failure.attempts,
        failure.failedAt,
      );
    this.#db
      .statement("DELETE FROM _hearth_task_failures WHERE seq <= (SELECT max(seq) FROM _hearth_task_failures) - ?")
      .run(MAX_FAILURES_KEPT);
  }

  failures(limit: number): TaskFailure[] {
    if (!this.exists) return [];
    const rows = this.#db
      .statement("SELECT * FROM _hearth_task_failures ORDER BY seq DESC LIMIT ?")
      .all(limit) as Array<{
      kind: "schedule" | "queue";
      task_id: string;
      callback: string;
      payload: string | null;
      error: string;
      attempts: number;
      failed_at: number;
    }>;
    return rows.map((row) => ({
      kind: row.kind,
      taskId: row.task_id,
      callback: row.callback,
      payload: row.payload === null ? undefined : (JSON.parse(row.payload) as unknown),
      error: row.error,
      attempts: row.attempts,
      failedAt: row.failed_at,
    }));
  }

  #queueHead(): TaskRow | undefined {
    if (this.#queueEmpty) return undefined;
    // Only an empty table counts as empty (tripped items stay); an upsert clears the flag. Most agents
    // never queue: one cheap look settles it before the head is read.
    if (this.#queueEmpty === undefined) {
      this.#queueEmpty = this.#db.statement("SELECT 1 AS x FROM _hearth_queue LIMIT 1").get() === undefined;
      if (this.#queueEmpty) return undefined;
    }
    const head = this.#db.statement(QUEUE_HEAD_SQL).get() as TaskRow | undefined;
    if (!head) this.#queueEmpty = this.#db.statement("SELECT 1 AS x FROM _hearth_queue LIMIT 1").get() === undefined;
    return head;
  }
}
