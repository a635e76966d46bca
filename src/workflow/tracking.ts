import type { SQLInputValue } from "node:sqlite";
import type { AgentDatabase } from "../storage/database.ts";
import type { WorkflowDeleteCriteria, WorkflowInfo, WorkflowQueryCriteria, WorkflowStatus } from "./agent-types.ts";

/** Page size of `getWorkflows`: its default and its ceiling (larger limits are clamped, as in Cloudflare's SDK). */
export const PAGE = { default: 50, max: 100 };

const FINAL: readonly WorkflowStatus[] = ["complete", "errored", "terminated"];
const STATUSES = new Set<string>(["queued", "running", "paused", "errored", "terminated", "complete", "waiting", "unknown"]);

/** One tracking row. Times are ms since the epoch. */
export interface TrackingRow {
  id: string;
  workflow_id: string;
  workflow_name: string;
  status: WorkflowStatus;
  metadata: string | null;
  error_name: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

/** The tracking table, named as in Cloudflare's SDK so an agent's own SQL can read and write it. */
const TRACKING_TABLE = "cf_agents_workflows";
/** Its name before it took the SDK's: renamed on first use (see docs/decisions/0005-workflows.md). */
const OLD_TABLE = "_hearth_workflows";

// The SDK's columns; an instance id is tracked once. Times are ms since the epoch.
const TABLE = `CREATE TABLE cf_agents_workflows (
  id TEXT PRIMARY KEY NOT NULL, workflow_id TEXT NOT NULL UNIQUE, workflow_name TEXT NOT NULL,
  status TEXT NOT NULL, metadata TEXT, error_name TEXT, error_message TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, completed_at INTEGER);
CREATE INDEX cf_agents_workflows_by_created ON cf_agents_workflows (created_at, workflow_id);
CREATE INDEX cf_agents_workflows_by_status ON cf_agents_workflows (status);
CREATE INDEX cf_agents_workflows_by_name ON cf_agents_workflows (workflow_name);`;

// The first version kept id, name, creation time and metadata only; its rows get a status at the next read.
const FROM_V1 = `ALTER TABLE cf_agents_workflows RENAME TO _hearth_workflows_v1;
${TABLE}
INSERT OR IGNORE INTO cf_agents_workflows (id, workflow_id, workflow_name, status, metadata, created_at, updated_at)
  SELECT lower(hex(randomblob(12))), workflow_id, workflow_name, 'unknown', metadata, created_at, created_at
  FROM _hearth_workflows_v1 ORDER BY created_at DESC;
DROP TABLE _hearth_workflows_v1;`;

/** Whether an agent's database holds a tracking table, under its name or its old one (for the inspector). */
export function hasWorkflowTracking(db: Pick<AgentDatabase, "hasTable">): boolean {
  return db.hasTable(TRACKING_TABLE) || db.hasTable(OLD_TABLE);
}

/**
 * The agent's record of the workflow instances it started (`cf_agents_workflows` in its own SQLite):
 * status, error and times as last seen, metadata to query by. Created on first use.
 */
export class WorkflowTracking {
  readonly #db: AgentDatabase;
  #ready = false;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** Whether the table exists (an agent that never started a workflow has none). */
  exists(): boolean {
    if (this.#ready) return true;
    if (!this.#db.hasTable(TRACKING_TABLE)) {
      if (!this.#db.hasTable(OLD_TABLE)) return false;
      this.#db.execScript(`ALTER TABLE ${OLD_TABLE} RENAME TO ${TRACKING_TABLE}`);
    }
    const columns = this.#db.statement(`SELECT name FROM pragma_table_info('${TRACKING_TABLE}')`).all() as Array<{ name: string }>;
    if (columns.length === 0) return false;
    if (!columns.some((column) => column.name === "status")) this.#db.execScript(FROM_V1);
    this.#ready = true;
    return true;
  }

  /** Records a new instance as queued; refuses an id this agent already tracks. */
  insert(row: { id: string; workflowId: string; workflowName: string; metadata: string | null; now: number }): void {
    if (!this.exists()) {
      this.#db.execScript(TABLE);
      this.#ready = true;
    }
    if (this.get(row.workflowId)) throw new Error(`Workflow with ID "${row.workflowId}" is already being tracked`);
    this.#db
      .statement(
        `INSERT INTO cf_agents_workflows (id, workflow_id, workflow_name, status, metadata, created_at, updated_at)
         VALUES (?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(row.id, row.workflowId, row.workflowName, row.metadata, row.now, row.now);
  }

  get(workflowId: string): TrackingRow | undefined {
    if (!this.exists()) return undefined;
    return this.#db.statement("SELECT * FROM cf_agents_workflows WHERE workflow_id = ?").get(workflowId) as TrackingRow | undefined;
  }

  /** Rows whose status can still change, for a refresh from the engine. */
  unfinished(): Array<Pick<TrackingRow, "workflow_id" | "workflow_name" | "status">> {
    if (!this.exists()) return [];
    return this.#db
      .statement("SELECT workflow_id, workflow_name, status FROM cf_agents_workflows WHERE status NOT IN ('complete', 'errored', 'terminated')")
      .all() as Array<Pick<TrackingRow, "workflow_id" | "workflow_name" | "status">>;
  }

  /** Records a status seen on the instance; `at` is when it changed. Returns whether the row changed. */
  setStatus(workflowId: string, status: WorkflowStatus, error: { name: string; message: string } | undefined, at: number): boolean {
    if (!this.exists()) return false;
    const changes = this.#db
      .statement(
        `UPDATE cf_agents_workflows SET status = ?, error_name = ?, error_message = ?, updated_at = ?,
           completed_at = CASE WHEN ? THEN coalesce(completed_at, ?) ELSE NULL END
         WHERE workflow_id = ? AND (status IS NOT ? OR error_name IS NOT ? OR error_message IS NOT ?)`,
      )
      .run(
        status,
        error?.name ?? null,
        error?.message ?? null,
        at,
        FINAL.includes(status) ? 1 : 0,
        at,
        workflowId,
        status,
        error?.name ?? null,
        error?.message ?? null,
      ).changes;
    return Number(changes) > 0;
  }

  /** `restartWorkflow` with `resetTracking`: queued again, as if created now. */
  reset(workflowId: string, now: number): void {
    if (!this.exists()) return;
    this.#db
      .statement(
        `UPDATE cf_agents_workflows SET status = 'queued', created_at = ?, updated_at = ?, completed_at = NULL,
           error_name = NULL, error_message = NULL WHERE workflow_id = ?`,
      )
      .run(now, now, workflowId);
  }

  page(criteria: WorkflowQueryCriteria): { rows: TrackingRow[]; total: number; nextCursor: string | null } {
    const limit = pageSize(criteria.limit);
    const order = criteria.orderBy ?? "desc";
    if (order !== "asc" && order !== "desc") throw new TypeError(`getWorkflows({ orderBy }): "asc" or "desc", got ${JSON.stringify(order)}`);
    const where = whereOf(criteria, "getWorkflows");
    const cursor = criteria.cursor === undefined ? undefined : decodeCursor(criteria.cursor);
    if (!this.exists()) return { rows: [], total: 0, nextCursor: null };
    const total = (this.#db.statement(`SELECT count(*) AS n FROM cf_agents_workflows WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
    let sql = `SELECT * FROM cf_agents_workflows WHERE ${where.sql}`;
    const params = [...where.params];
    if (cursor) {
      const cmp = order === "asc" ? ">" : "<";
      sql += ` AND (created_at ${cmp} ? OR (created_at = ? AND workflow_id ${cmp} ?))`;
      params.push(cursor.createdAt, cursor.createdAt, cursor.workflowId);
    }
    sql += ` ORDER BY created_at ${order}, workflow_id ${order} LIMIT ?`;
    params.push(limit + 1);
    const rows = this.#db.statement(sql).all(...params) as unknown as TrackingRow[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows.at(-1);
    return { rows, total, nextCursor: more && last ? encodeCursor(last) : null };
  }

  delete(workflowId: string): boolean {
    if (!this.exists()) return false;
    return Number(this.#db.statement("DELETE FROM cf_agents_workflows WHERE workflow_id = ?").run(workflowId).changes) > 0;
  }

  deleteWhere(criteria: WorkflowDeleteCriteria): number {
    const where = whereOf(criteria, "deleteWorkflows");
    if (criteria.createdBefore !== undefined) {
      const before = criteria.createdBefore;
      if (!(before instanceof Date) || Number.isNaN(before.getTime())) throw new TypeError("deleteWorkflows({ createdBefore }): a valid Date");
      where.sql += " AND created_at < ?";
      where.params.push(before.getTime());
    }
    if (!this.exists()) return 0;
    return Number(this.#db.statement(`DELETE FROM cf_agents_workflows WHERE ${where.sql}`).run(...where.params).changes);
  }

  /** Moves every row of binding `from` to binding `to`; returns how many. */
  rename(from: string, to: string): number {
    if (!this.exists()) return 0;
    return Number(this.#db.statement("UPDATE cf_agents_workflows SET workflow_name = ? WHERE workflow_name = ?").run(to, from).changes);
  }

  /** Rows per binding name, split into active and finished: for the start-up check of bindings. */
  byName(): Array<{ workflow_name: string; total: number; active: number; completed: number }> {
    if (!this.exists()) return [];
    return this.#db
      .statement(
        `SELECT workflow_name, count(*) AS total,
           sum(status NOT IN ('complete', 'errored', 'terminated')) AS active,
           sum(status IN ('complete', 'errored', 'terminated')) AS completed
         FROM cf_agents_workflows GROUP BY workflow_name`,
      )
      .all() as Array<{ workflow_name: string; total: number; active: number; completed: number }>;
  }

  invalidate(): void {
    this.#ready = false;
  }
}

export function toWorkflowInfo(row: TrackingRow): WorkflowInfo {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    workflowName: row.workflow_name,
    status: row.status,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    error: row.error_name === null ? null : { name: row.error_name, message: row.error_message ?? "" },
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    completedAt: row.completed_at === null ? null : new Date(row.completed_at),
  };
}

export function isFinal(status: WorkflowStatus): boolean {
  return FINAL.includes(status);
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return PAGE.default;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`getWorkflows({ limit }): a whole number from 1 (at most ${PAGE.max} per page), got ${String(limit)}`);
  }
  return Math.min(limit, PAGE.max);
}

/** The WHERE clause of the filters both queries and deletes take. */
function whereOf(criteria: WorkflowDeleteCriteria, method: string): { sql: string; params: SQLInputValue[] } {
  if (criteria === null || typeof criteria !== "object") throw new TypeError(`${method}(criteria): an object`);
  let sql = "1 = 1";
  const params: SQLInputValue[] = [];
  if (criteria.status !== undefined) {
    const statuses = Array.isArray(criteria.status) ? criteria.status : [criteria.status];
    for (const status of statuses) {
      if (!STATUSES.has(status)) throw new TypeError(`${method}({ status }): unknown status ${JSON.stringify(status)}; one of ${[...STATUSES].join(", ")}`);
    }
    sql += statuses.length === 0 ? " AND 0" : ` AND status IN (${statuses.map(() => "?").join(", ")})`;
    params.push(...statuses);
  }
  if (criteria.workflowName !== undefined) {
    if (typeof criteria.workflowName !== "string") throw new TypeError(`${method}({ workflowName }): a string`);
    sql += " AND workflow_name = ?";
    params.push(criteria.workflowName);
  }
  if (criteria.metadata !== undefined) {
    if (criteria.metadata === null || typeof criteria.metadata !== "object") throw new TypeError(`${method}({ metadata }): an object of key → value`);
    for (const [key, value] of Object.entries(criteria.metadata)) {
      if (key.length === 0 || key.includes('"')) throw new TypeError(`${method}({ metadata }): keys are non-empty and without '"', got ${JSON.stringify(key)}`);
      const path = `$."${key}"`;
      // Typed matches: the string "1" does not match the number 1, nor true the number 1.
      if (typeof value === "boolean") {
        sql += " AND json_type(metadata, ?) = ?";
        params.push(path, value ? "true" : "false");
      } else if (typeof value === "string") {
        sql += " AND json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) = ?";
        params.push(path, path, value);
      } else if (typeof value === "number" && Number.isFinite(value)) {
        sql += " AND json_type(metadata, ?) IN ('integer', 'real') AND json_extract(metadata, ?) = ?";
        params.push(path, path, value);
      } else {
        throw new TypeError(`${method}({ metadata }): values are strings, finite numbers or booleans; ${JSON.stringify(key)} is not`);
      }
    }
  }
  return { sql, params };
}

function encodeCursor(row: TrackingRow): string {
  return Buffer.from(JSON.stringify({ c: row.created_at, i: row.workflow_id })).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: number; workflowId: string } {
  try {
    const data = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { c?: unknown; i?: unknown };
    if (typeof data.c === "number" && typeof data.i === "string") return { createdAt: data.c, workflowId: data.i };
  } catch {
    // reported below
  }
  throw new Error("Invalid pagination cursor. The cursor may be malformed or corrupted.");
}
