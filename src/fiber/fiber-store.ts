import type { AgentDatabase } from "../storage/database.ts";
import type { FiberStatus } from "./types.ts";

/** A row of `_hearth_fibers`, as stored. */
export interface FiberRow {
  id: string;
  name: string;
  /** 1: a startFiber fiber (kept once settled); 0: a runFiber fiber (deleted when it ends). */
  managed: number;
  idempotency_key: string | null;
  status: FiberStatus;
  /** The last checkpoint, JSON. */
  snapshot: string | null;
  /** JSON object. */
  metadata: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  settled_at: number | null;
  /** Calls of onFiberRecovered so far, counted before each call (so one whose process died counts). */
  recovery_attempts: number;
  /** Set while the fiber awaits its recovery: not before this time. */
  recover_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_fibers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, managed INTEGER NOT NULL, idempotency_key TEXT UNIQUE,
  status TEXT NOT NULL, snapshot TEXT, metadata TEXT, error TEXT, created_at INTEGER NOT NULL,
  started_at INTEGER, settled_at INTEGER, recovery_attempts INTEGER NOT NULL DEFAULT 0, recover_at INTEGER
);
CREATE INDEX IF NOT EXISTS _hearth_fibers_unfinished ON _hearth_fibers (status) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS _hearth_fibers_recover ON _hearth_fibers (recover_at) WHERE recover_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS _hearth_fibers_listed ON _hearth_fibers (managed, created_at);`;

const SETTLED_STATUSES: readonly FiberStatus[] = ["completed", "aborted", "interrupted", "error"];

/**
 * The SQL of an agent's fibers, in the agent's own database. The table is created on first use.
 * Writes join the current event's transaction; {@link commit} makes them durable at once, for those
 * that must be (a checkpoint, a fiber's end, each step of a recovery) — see AgentFibers.
 */
/** The table of an agent's fibers: an agent without it never ran one. */
export const FIBERS_TABLE = "_hearth_fibers";

export class FiberStore {
  readonly #db: AgentDatabase;
  #exists: boolean | undefined;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** True once the table exists (an agent that never ran a fiber has none). */
  get exists(): boolean {
    // Cached; a rollback may take a table created in the same transaction away (see invalidate).
    this.#exists ??= this.#db.hasTable(FIBERS_TABLE);
    return this.#exists;
  }

  insert(row: Omit<FiberRow, "recovery_attempts" | "recover_at" | "error" | "settled_at">): void {
    this.#ensure();
    this.#write(
      `INSERT INTO _hearth_fibers (id, name, managed, idempotency_key, status, snapshot, metadata, created_at, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.name,
      row.managed,
      row.idempotency_key,
      row.status,
      row.snapshot,
      row.metadata,
      row.created_at,
      row.started_at,
    );
  }

  get(id: string): FiberRow | undefined {
    if (!this.exists) return undefined;
    return this.#db.statement("SELECT * FROM _hearth_fibers WHERE id = ?").get(id) as FiberRow | undefined;
  }

  getByKey(key: string): FiberRow | undefined {
    if (!this.exists) return undefined;
    return this.#db.statement("SELECT * FROM _hearth_fibers WHERE idempotency_key = ?").get(key) as FiberRow | undefined;
  }

  setSnapshot(id: string, json: string | null): void {
    this.#write("UPDATE _hearth_fibers SET snapshot = ? WHERE id = ?", json, id);
  }

  delete(id: string): void {
    this.#write("DELETE FROM _hearth_fibers WHERE id = ?", id);
  }

  /** The function of a running fiber ended; false when something else settled it first (a cancel). */
  settleRunning(id: string, status: "completed" | "error" | "aborted", error: string | null, at: number): boolean {
    return 0 < this.#write(
      "UPDATE _hearth_fibers SET status = ?, error = ?, settled_at = ? WHERE id = ? AND status = 'running'",
      status,
      error,
      at,
      id,
    );
  }

  /** Cancels a fiber that has not settled; false when it had. */
  abort(id: string, reason: string | null, at: number): boolean {
    return 0 < this.#write(
      "UPDATE _hearth_fibers SET status = 'aborted', error = ?, settled_at = ? WHERE id = ? AND status IN ('pending', 'running')",
      reason,
      at,
      id,
    );
  }

  /**
   * Fibers recorded as pending or running (at start-up: those whose process ended while they ran),
   * oldest first. Fibers started in the same millisecond go in the order they were recorded: the
   * table's rowid (every table of it has one, so no migration), not their random ids.
   */
  unfinished(): FiberRow[] {
    if (!this.exists) return [];
    return this.#db.statement("SELECT * FROM _hearth_fibers WHERE status IN ('pending', 'running') ORDER BY created_at, rowid").all() as unknown as FiberRow[];
  }

  /** The fiber's process ended while it ran: it is interrupted and awaits its recovery from `at`. */
  markInterrupted(id: string, at: number): void {
    this.#write(
      "UPDATE _hearth_fibers SET status = 'interrupted', settled_at = ?, recover_at = coalesce(recover_at, ?) WHERE id = ?",
      at,
      at,
      id,
    );
  }

  /** Fibers whose recovery is due, oldest first. */
  dueForRecovery(now: number): FiberRow[] {
    if (!this.exists) return [];
    return this.#db
      .statement("SELECT * FROM _hearth_fibers WHERE recover_at IS NOT NULL AND recover_at <= ? ORDER BY created_at, rowid")
      .all(now) as unknown as FiberRow[];
  }

  /** The earliest pending recovery of a fiber not in `excluding` (those being recovered), or null. */
  nextRecovery(excluding: ReadonlySet<string> = new Set()): number | null {
    if (!this.exists) return null;
    const rows = this.#db
      .statement("SELECT id, recover_at AS at FROM _hearth_fibers WHERE recover_at IS NOT NULL ORDER BY recover_at LIMIT ?")
      .all(excluding.size + 1) as unknown as Array<{ id: string; at: number }>;
    return rows.find((row) => !excluding.has(row.id))?.at ?? null;
  }

  /**
   * Written (and committed) before the hook is called: the attempt is counted, and the fiber is due
   * again at `retryAt` in case this call never returns (it kills the process, it never settles).
   */
  beginRecoveryAttempt(id: string, retryAt: number): void {
    this.#write(
      "UPDATE _hearth_fibers SET recovery_attempts = recovery_attempts + 1, recover_at = ? WHERE id = ? AND status = 'interrupted'",
      retryAt,
      id,
    );
  }

  /** Fibers a recovery pass did not reach in time: due again at `at`. */
  deferRecovery(ids: readonly string[], at: number): void {
    if (ids.length === 0) return;
    this.#write("UPDATE _hearth_fibers SET recover_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))", at, JSON.stringify(ids));
  }

  /** The hook threw: try again from `retryAt`, or (null) no more. Not for a fiber settled meanwhile (resolveFiber). */
  recoveryFailed(id: string, error: string, retryAt: number | null): void {
    this.#write("UPDATE _hearth_fibers SET error = ?, recover_at = ? WHERE id = ? AND status = 'interrupted'", error, retryAt, id);
  }

  /** Recovery is over for this (kept) fiber; with a result, the fiber settles as it says. */
  recovered(id: string, result?: { status: FiberStatus; snapshot?: string; metadata?: string; error: string | null }, at?: number): void {
    if (!result) {
      this.#write("UPDATE _hearth_fibers SET recover_at = NULL WHERE id = ?", id);
      return;
    }
    this.#write(
      `UPDATE _hearth_fibers SET status = ?, snapshot = coalesce(?, snapshot), metadata = coalesce(?, metadata), error = ?,
       settled_at = ?, recover_at = NULL WHERE id = ? AND status = 'interrupted'`,
      result.status,
      result.snapshot ?? null,
      result.metadata ?? null,
      result.error,
      at ?? null,
      id,
    );
  }

  /** startFiber fibers, newest first. */
  list(statuses: readonly FiberStatus[] | undefined, name: string | undefined, limit: number): FiberRow[] {
    if (!this.exists) return [];
    return this.#db
      .statement(
        `SELECT * FROM _hearth_fibers WHERE managed = 1 AND (?1 IS NULL OR name = ?1)
         AND (?2 IS NULL OR status IN (SELECT value FROM json_each(?2))) ORDER BY created_at DESC, rowid DESC LIMIT ?3`,
      )
      .all(name ?? null, statuses ? JSON.stringify(statuses) : null, limit) as unknown as FiberRow[];
  }

  /** Deletes settled startFiber fibers, oldest settled first; returns how many. */
  deleteSettled(statuses: readonly FiberStatus[], settledBefore: number | undefined, limit: number): number {
    const settled = statuses.filter((status) => SETTLED_STATUSES.includes(status));
    if (settled.length === 0) return 0;
    return this.#write(
      `DELETE FROM _hearth_fibers WHERE id IN (SELECT id FROM _hearth_fibers WHERE managed = 1
       AND status IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR settled_at < ?2)
       ORDER BY settled_at, created_at, rowid LIMIT ?3)`,
      JSON.stringify(settled),
      settledBefore ?? null,
      limit,
    );
  }

  /** Commits the open transaction now: what was written so far (by anyone) is durable. */
  commit(): void {
    this.#db.flush();
  }

  /** A rollback happened: the table may be gone with it, ask again. */
  invalidate(): void {
    this.#exists = undefined;
  }

  #ensure(): void {
    if (this.exists) return;
    this.#db.execScript(SCHEMA);
    this.#exists = true;
  }

  /** Runs a write in the current transaction; returns how many rows it changed. */
  #write(query: string, ...values: Array<string | number | null>): number {
    if (!this.exists) return 0;
    const { changes } = this.#db.statement(query).run(...values);
    return Number(changes);
  }
}
