/**
 * The parent's run registry, in its own SQLite: one row per agent-tool run (what UIs show, how it
 * ended) and the chunk events forwarded from the child, kept so a client that reloads gets the
 * run's timeline replayed. Tables are created on first use; an agent that never ran an agent tool
 * has none.
 */
import type { AgentDatabase } from "../storage/database.ts";
import type { AgentToolDisplayMetadata, AgentToolInterruptedReason, AgentToolRunInfo, AgentToolRunStatus, RunAgentToolResult } from "./agent-tool-types.ts";

const RUNS = "hearth_agent_tool_runs";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${RUNS} (
  run_id TEXT PRIMARY KEY, parent_tool_call_id TEXT, agent_type TEXT NOT NULL, input_preview TEXT,
  status TEXT NOT NULL, summary TEXT, output_json TEXT, error_message TEXT, interrupted_reason TEXT,
  child_still_running INTEGER, display_metadata TEXT, display_order INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL, completed_at INTEGER
);
CREATE TABLE IF NOT EXISTS hearth_agent_tool_events (
  run_id TEXT NOT NULL, sequence INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID;`;

/** One stored run. */
export interface StoredRun extends AgentToolRunInfo {
  summary?: string;
  output?: unknown;
  error?: string;
  reason?: AgentToolInterruptedReason;
  childStillRunning?: boolean;
}

type Row = Record<string, string | number | null>;

/** The states that hold a concurrency slot. */
export const LIVE_STATUSES: readonly AgentToolRunStatus[] = ["starting", "running"];

export class AgentToolRunStore {
  readonly #db: AgentDatabase;
  #ready = false;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /** True when the tables exist (an agent that never ran an agent tool has nothing to recover or replay). */
  get exists(): boolean {
    return this.#ready || this.#db.hasTable(RUNS);
  }

  insert(run: AgentToolRunInfo, error?: string): void {
    this.#ensure();
    this.#db
      .statement(
        `INSERT INTO ${RUNS} (run_id, parent_tool_call_id, agent_type, input_preview, status, error_message, display_metadata, display_order, started_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.runId,
        run.parentToolCallId ?? null,
        run.agentType,
        toJson(run.inputPreview),
        run.status,
        error ?? null,
        toJson(run.display),
        run.displayOrder,
        run.startedAt,
        run.completedAt ?? null,
      );
  }

  get(runId: string): StoredRun | undefined {
    if (!this.exists) return undefined;
    const row = this.#db.statement(`SELECT * FROM ${RUNS} WHERE run_id = ?`).get(runId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Runs oldest first; only those in `statuses` when given. */
  list(statuses?: readonly AgentToolRunStatus[]): StoredRun[] {
    if (!this.exists) return [];
    const rows = this.#db.statement(`SELECT * FROM ${RUNS} ORDER BY started_at, rowid`).all() as Row[];
    const runs = rows.map(fromRow);
    return statuses ? runs.filter((run) => statuses.includes(run.status)) : runs;
  }

  countLive(): number {
    if (!this.exists) return 0;
    const row = this.#db.statement(`SELECT count(*) AS n FROM ${RUNS} WHERE status IN ('starting', 'running')`).get() as { n: number };
    return Number(row.n);
  }

  has(agentType: string, runId: string): boolean {
    if (!this.exists) return false;
    return this.#db.statement(`SELECT 1 FROM ${RUNS} WHERE run_id = ? AND agent_type = ?`).get(runId, agentType) !== undefined;
  }

  markRunning(runId: string): void {
    this.#db.statement(`UPDATE ${RUNS} SET status = 'running' WHERE run_id = ? AND status = 'starting'`).run(runId);
  }

  /**
   * Stores how a run ended. A hard end (completed, error, aborted) is never overwritten; a soft one
   * (interrupted) is, when a later re-attach collects the child's real result.
   */
  finish(result: RunAgentToolResult, completedAt: number): boolean {
    const changes = this.#db
      .statement(
        `UPDATE ${RUNS} SET status = ?, summary = ?, output_json = ?, error_message = ?, interrupted_reason = ?,
           child_still_running = ?, completed_at = ?
         WHERE run_id = ? AND status NOT IN ('completed', 'error', 'aborted')`,
      )
      .run(
        result.status,
        result.summary ?? null,
        toJson(result.output),
        result.error ?? null,
        result.reason ?? null,
        result.childStillRunning === undefined ? null : result.childStillRunning ? 1 : 0,
        completedAt,
        result.runId,
      ).changes;
    return Number(changes) > 0;
  }

  /** Records one forwarded chunk at its run-wide sequence (a re-sent one is ignored). */
  addEvent(runId: string, sequence: number, body: string): void {
    this.#db.statement("INSERT OR IGNORE INTO hearth_agent_tool_events (run_id, sequence, body) VALUES (?, ?, ?)").run(runId, sequence, body);
  }

  /** The highest chunk sequence stored for a run, 0 when none. */
  lastSequence(runId: string): number {
    if (!this.exists) return 0;
    const row = this.#db.statement("SELECT max(sequence) AS s FROM hearth_agent_tool_events WHERE run_id = ?").get(runId) as { s: number | null };
    return row.s === null ? 0 : Number(row.s);
  }

  /** The run's chunk events in order; only the last `limit` when given. */
  events(runId: string, limit?: number): Array<{ sequence: number; body: string }> {
    if (!this.exists) return [];
    const rows =
      limit === undefined
        ? this.#db.statement("SELECT sequence, body FROM hearth_agent_tool_events WHERE run_id = ? ORDER BY sequence").all(runId)
        : this.#db
            .statement("SELECT sequence, body FROM (SELECT sequence, body FROM hearth_agent_tool_events WHERE run_id = ? ORDER BY sequence DESC LIMIT ?) ORDER BY sequence")
            .all(runId, limit);
    return rows.map((row) => ({ sequence: Number(row.sequence), body: String(row.body) }));
  }

  delete(runId: string): void {
    if (!this.exists) return;
    this.#db.statement(`DELETE FROM ${RUNS} WHERE run_id = ?`).run(runId);
    this.#db.statement("DELETE FROM hearth_agent_tool_events WHERE run_id = ?").run(runId);
  }

  #ensure(): void {
    if (this.#ready) return;
    this.#db.execScript(SCHEMA);
    this.#ready = true;
  }
}

function fromRow(row: Row): StoredRun {
  const status = row.status as AgentToolRunStatus;
  const run: StoredRun = {
    runId: String(row.run_id),
    agentType: String(row.agent_type),
    status,
    displayOrder: Number(row.display_order),
    startedAt: Number(row.started_at),
  };
  if (row.parent_tool_call_id !== null) run.parentToolCallId = String(row.parent_tool_call_id);
  if (row.input_preview !== null) run.inputPreview = fromJson(row.input_preview);
  if (row.display_metadata !== null) run.display = fromJson(row.display_metadata) as AgentToolDisplayMetadata;
  if (row.completed_at !== null) run.completedAt = Number(row.completed_at);
  if (row.summary !== null) run.summary = String(row.summary);
  if (row.output_json !== null) run.output = fromJson(row.output_json);
  if (row.error_message !== null) run.error = String(row.error_message);
  if (status === "interrupted") {
    if (row.interrupted_reason !== null) run.reason = row.interrupted_reason as AgentToolInterruptedReason;
    if (row.child_still_running !== null) run.childStillRunning = Number(row.child_still_running) !== 0;
  }
  return run;
}

function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return JSON.stringify(String(value));
  }
}

function fromJson(value: string | number | null | undefined): unknown {
  if (value === null || value === undefined) return undefined;
  try {
    return JSON.parse(String(value));
  } catch {
    return value;
  }
}
