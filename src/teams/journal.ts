/**
 * A team run's journal, in the owning agent's own SQLite: the run, every step that finished (its
 * output, error and usage, and — for the inspector — the input it received) and the event log watchers
 * replay from a cursor. A step's row is committed before the run goes past it, so a run resumed after
 * a crash reads what it did instead of doing it again.
 */
import type { AgentDatabase } from "../storage/database.ts";
import type { TeamRunEvent } from "../client/team-run.ts";
import type { MemberUsage } from "./member.ts";
import { journaledInput, readStepInputs, STEP_INPUTS_SCHEMA, type JournaledInput } from "./step-inputs.ts";

/** Where a run is. `waiting` (for an approval) and `paused` hold no memory; terminal states never change. */
export type TeamRunStatus = "running" | "waiting" | "paused" | "completed" | "failed" | "cancelled";

export const TERMINAL_STATUSES: ReadonlySet<TeamRunStatus> = new Set(["completed", "failed", "cancelled"]);

/** A run as stored. */
export interface TeamRunRecord {
  id: string;
  team: string;
  version: string;
  status: TeamRunStatus;
  input: unknown;
  output?: unknown;
  /** Why it failed or was cancelled. */
  error?: { name: string; message: string };
  /** The flow-control key it was started with (e.g. a user id). */
  key?: string;
  /** Conversation it belongs to (handoffs keep their owner per conversation). */
  conversation?: string;
  /** The run (of the parent agent) this one is a member call of: told when this one stops. */
  parent?: { team: string; runId: string };
  /** Limits in force: those the run started with (the defaults, the team's and the run's own), raised by every extension granted since. */
  limits: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** Milliseconds the run spent running (not waiting or paused), saved as it runs: what wallMs bounds. */
  elapsedMs: number;
}

/** A finished (or failed, or waiting) step. */
export interface StepRecord {
  path: string;
  kind: string;
  /** The member a member call called (per-member budgets are rebuilt from these). */
  member?: string;
  status: "done" | "failed" | "waiting";
  output?: unknown;
  error?: { name: string; message: string };
  usage?: MemberUsage;
  at: number;
}

/** One entry of a run's event log: the shape clients get (hearth/client's TeamRunEvent). */
export type TeamEvent = TeamRunEvent;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_team_runs (
  id TEXT PRIMARY KEY, team TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL,
  input TEXT NOT NULL, output TEXT, error TEXT, run_key TEXT, conversation TEXT, parent TEXT, limits TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, elapsed_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS _hearth_team_runs_status ON _hearth_team_runs (status, created_at);
CREATE TABLE IF NOT EXISTS _hearth_team_steps (
  run_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, member TEXT, status TEXT NOT NULL,
  output TEXT, error TEXT, usage TEXT, at INTEGER NOT NULL,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
${STEP_INPUTS_SCHEMA}
CREATE TABLE IF NOT EXISTS _hearth_team_events (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, path TEXT, data TEXT, at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _hearth_team_owners (
  team TEXT NOT NULL, conversation TEXT NOT NULL, member TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (team, conversation)
) WITHOUT ROWID;
`;

interface RunRow {
  id: string;
  team: string;
  version: string;
  status: string;
  input: string;
  output: string | null;
  error: string | null;
  run_key: string | null;
  conversation: string | null;
  parent: string | null;
  limits: string;
  created_at: number;
  updated_at: number;
  elapsed_ms: number;
}

const ensured = new WeakSet<AgentDatabase>();
/** The next event seq per run, per database (every journal object of one agent shares it). */
const nextSeqs = new WeakMap<AgentDatabase, Map<string, number>>();

/** The journal of every team run of one agent. */
export class TeamJournal {
  readonly #db: AgentDatabase;
  readonly #nextSeq: Map<string, number>;

  constructor(db: AgentDatabase) {
    this.#db = db;
    let seqs = nextSeqs.get(db);
    if (!seqs) nextSeqs.set(db, (seqs = new Map()));
    this.#nextSeq = seqs;
    // Checked again when the tables are gone: an event that failed rolled their creation back. The
    // inputs table is new (journals written before it have none): CREATE IF NOT EXISTS adds it.
    if (!ensured.has(db) || !db.hasTable("_hearth_team_runs") || !db.hasTable("_hearth_team_step_inputs")) {
      db.execScript(SCHEMA);
      ensured.add(db);
    }
  }

  createRun(run: Omit<TeamRunRecord, "updatedAt" | "elapsedMs" | "output" | "error">): void {
    this.#db
      .statement(
        "INSERT INTO _hearth_team_runs (id, team, version, status, input, run_key, conversation, parent, limits, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        run.id,
        run.team,
        run.version,
        run.status,
        json(run.input),
        run.key ?? null,
        run.conversation ?? null,
        run.parent ? JSON.stringify(run.parent) : null,
        json(run.limits),
        run.createdAt,
        run.createdAt,
      );
  }

  run(id: string): TeamRunRecord | undefined {
    const row = this.#db.statement("SELECT * FROM _hearth_team_runs WHERE id = ?").get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  runs(options: { status?: TeamRunStatus[]; team?: string; limit?: number } = {}): TeamRunRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (options.team !== undefined) {
      where.push("team = ?");
      args.push(options.team);
    }
    if (options.status && options.status.length > 0) {
      where.push(`status IN (${options.status.map(() => "?").join(", ")})`);
      args.push(...options.status);
    }
    const sql = `SELECT * FROM _hearth_team_runs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id LIMIT ?`;
    const rows = this.#db.statement(sql).all(...args, options.limit ?? 100) as unknown as RunRow[];
    return rows.map(toRun);
  }

  setStatus(id: string, status: TeamRunStatus, now: number, end?: { output?: unknown; error?: { name: string; message: string } }): void {
    this.#db
      .statement("UPDATE _hearth_team_runs SET status = ?, updated_at = ?, output = coalesce(?, output), error = coalesce(?, error) WHERE id = ?")
      .run(status, now, end && "output" in end ? json(end.output) : null, end?.error ? JSON.stringify(end.error) : null, id);
  }

  addElapsed(id: string, ms: number): void {
    if (ms > 0) this.#db.statement("UPDATE _hearth_team_runs SET elapsed_ms = elapsed_ms + ? WHERE id = ?").run(Math.round(ms), id);
  }

  setLimits(id: string, limits: Record<string, unknown>): void {
    this.#db.statement("UPDATE _hearth_team_runs SET limits = ? WHERE id = ?").run(json(limits), id);
  }

  steps(runId: string): Map<string, StepRecord> {
    const rows = this.#db.statement("SELECT path, kind, member, status, output, error, usage, at FROM _hearth_team_steps WHERE run_id = ?").all(runId) as unknown as Array<{
      path: string;
      kind: string;
      member: string | null;
      status: StepRecord["status"];
      output: string | null;
      error: string | null;
      usage: string | null;
      at: number;
    }>;
    const steps = new Map<string, StepRecord>();
    for (const row of rows) {
      steps.set(row.path, {
        path: row.path,
        kind: row.kind,
        ...(row.member !== null ? { member: row.member } : {}),
        status: row.status,
        ...(row.output !== null ? { output: JSON.parse(row.output) as unknown } : {}),
        ...(row.error !== null ? { error: JSON.parse(row.error) as { name: string; message: string } } : {}),
        ...(row.usage !== null ? { usage: JSON.parse(row.usage) as MemberUsage } : {}),
        at: row.at,
      });
    }
    return steps;
  }

  /**
   * Journals the input a step received (when it starts, so a step under way shows it too), bounded by
   * MAX_JOURNALED_INPUT_CHARS: a larger one keeps a preview with a marker. Never throws for the input.
   */
  writeStepInput(runId: string, path: string, input: unknown): void {
    const stored = journaledInput(input);
    this.#db
      .statement("INSERT OR REPLACE INTO _hearth_team_step_inputs (run_id, path, input, state, chars) VALUES (?, ?, ?, ?, ?)")
      .run(runId, path, stored.text, stored.state, stored.chars);
  }

  writeStep(runId: string, step: StepRecord): void {
    this.#db
      .statement("INSERT OR REPLACE INTO _hearth_team_steps (run_id, path, kind, member, status, output, error, usage, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(
        runId,
        step.path,
        step.kind,
        step.member ?? null,
        step.status,
        "output" in step ? json(step.output) : null,
        step.error ? JSON.stringify(step.error) : null,
        step.usage ? JSON.stringify(step.usage) : null,
        step.at,
      );
  }

  deleteStep(runId: string, path: string): void {
    this.#db.statement("DELETE FROM _hearth_team_steps WHERE run_id = ? AND path = ?").run(runId, path);
    this.#db.statement("DELETE FROM _hearth_team_step_inputs WHERE run_id = ? AND path = ?").run(runId, path);
  }

  /** The inputs journaled for a run's steps, by path (steps journaled before inputs were kept have none). */
  stepInputs(runId: string): Map<string, JournaledInput> {
    return readStepInputs(this.#db, runId);
  }

  /** How many events run `runId` has stored (its last event's seq). */
  eventCount(runId: string): number {
    return this.#seqAfterLast(runId) - 1;
  }

  #seqAfterLast(runId: string): number {
    let seq = this.#nextSeq.get(runId);
    if (seq === undefined) {
      const row = this.#db.statement("SELECT max(seq) AS seq FROM _hearth_team_events WHERE run_id = ?").get(runId) as { seq: number | null };
      seq = (row.seq ?? 0) + 1;
      this.#nextSeq.set(runId, seq);
    }
    return seq;
  }

  appendEvent(event: Omit<TeamEvent, "seq">): TeamEvent {
    const seq = this.#seqAfterLast(event.runId);
    this.#nextSeq.set(event.runId, seq + 1);
    this.#db
      .statement("INSERT INTO _hearth_team_events (run_id, seq, type, path, data, at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(event.runId, seq, event.type, event.path ?? null, event.data === undefined ? null : json(event.data), event.at);
    return { ...event, seq };
  }

  events(runId: string, after = 0, limit = 1000): TeamEvent[] {
    const rows = this.#db.statement("SELECT seq, type, path, data, at FROM _hearth_team_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?").all(runId, after, limit) as unknown as Array<{
      seq: number;
      type: string;
      path: string | null;
      data: string | null;
      at: number;
    }>;
    return rows.map((row) => ({
      runId,
      seq: row.seq,
      type: row.type,
      ...(row.path !== null ? { path: row.path } : {}),
      ...(row.data !== null ? { data: JSON.parse(row.data) as unknown } : {}),
      at: row.at,
    }));
  }

  owner(team: string, conversation: string): string | undefined {
    const row = this.#db.statement("SELECT member FROM _hearth_team_owners WHERE team = ? AND conversation = ?").get(team, conversation) as { member: string } | undefined;
    return row?.member;
  }

  setOwner(team: string, conversation: string, member: string, now: number): void {
    this.#db.statement("INSERT OR REPLACE INTO _hearth_team_owners (team, conversation, member, at) VALUES (?, ?, ?, ?)").run(team, conversation, member, now);
  }

  /** Deletes the finished runs of `team` beyond the newest `keep` (ids only are read). */
  pruneFinished(team: string, keep: number): number {
    const ids = this.#db
      .statement("SELECT id FROM _hearth_team_runs WHERE team = ? AND status IN ('completed', 'failed', 'cancelled') ORDER BY created_at DESC, id LIMIT -1 OFFSET ?")
      .all(team, keep) as Array<{ id: string }>;
    for (const { id } of ids) this.deleteRun(id);
    return ids.length;
  }

  /** Removes a finished run with its steps and events. */
  deleteRun(id: string): void {
    this.#db.statement("DELETE FROM _hearth_team_steps WHERE run_id = ?").run(id);
    this.#db.statement("DELETE FROM _hearth_team_step_inputs WHERE run_id = ?").run(id);
    this.#db.statement("DELETE FROM _hearth_team_events WHERE run_id = ?").run(id);
    this.#db.statement("DELETE FROM _hearth_team_runs WHERE id = ?").run(id);
    this.#nextSeq.delete(id);
  }

  /** Settles when what was written so far is committed. */
  async committed(): Promise<void> {
    await this.#db.whenCommitted();
  }
}

function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

function toRun(row: RunRow): TeamRunRecord {
  return {
    id: row.id,
    team: row.team,
    version: row.version,
    status: row.status as TeamRunStatus,
    input: JSON.parse(row.input) as unknown,
    ...(row.output !== null ? { output: JSON.parse(row.output) as unknown } : {}),
    ...(row.error !== null ? { error: JSON.parse(row.error) as { name: string; message: string } } : {}),
    ...(row.run_key !== null ? { key: row.run_key } : {}),
    ...(row.conversation !== null ? { conversation: row.conversation } : {}),
    ...(row.parent !== null ? { parent: JSON.parse(row.parent) as { team: string; runId: string } } : {}),
    limits: JSON.parse(row.limits) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    elapsedMs: row.elapsed_ms,
  };
}
