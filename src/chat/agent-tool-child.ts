/**
 * The child half of agent tools: a chat agent run as a tool of its parent. The parent starts a run
 * with an input; the child appends it to its own conversation as a user message and answers it in
 * a headless turn (`saveMessages`), recording every UI message chunk of that turn under the run so
 * the parent can pull them live, and later read them again. Runs are idempotent by id.
 */
import type { UIMessage } from "ai";
import type { AgentDatabase } from "../storage/database.ts";
import { AGENT_TOOL_LIMITS } from "./agent-tool-limits.ts";
import type { AgentToolPull, AgentToolRunInspection, AgentToolStoredChunk } from "./agent-tool-types.ts";
import type { SaveMessagesResult } from "./types.ts";

const RUNS = "hearth_agent_tool_child_runs";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${RUNS} (
  run_id TEXT PRIMARY KEY, request_id TEXT, status TEXT NOT NULL, input_json TEXT, output_json TEXT,
  summary TEXT, error_message TEXT, started_at INTEGER NOT NULL, completed_at INTEGER
);
CREATE TABLE IF NOT EXISTS hearth_agent_tool_child_chunks (
  run_id TEXT NOT NULL, sequence INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID;`;

/** The message a restarted child reports for a run whose turn no longer runs (Cloudflare's words). */
export const INTERRUPTED_CHILD_RUN = "Agent tool run was interrupted before the child could finish.";

type ChildStatus = AgentToolRunInspection["status"];
type Row = Record<string, string | number | null>;

/** What the child half needs from its chat agent. */
export interface AgentToolChildHost<M extends UIMessage> {
  readonly db: AgentDatabase;
  now(): number;
  messages(): M[];
  /** Runs one headless turn answering `message`; every chunk it streams goes to `observe`. */
  runTurn(message: () => M, signal: AbortSignal, observe: (body: string) => void): Promise<SaveMessagesResult>;
  formatInput(input: unknown, request: { runId: string }): M;
  output(request: { runId: string; input: unknown }, messagesAfterStart: readonly M[]): unknown;
  summary(request: { runId: string; input: unknown }, output: unknown, messagesAfterStart: readonly M[]): string;
  keepAlive(): () => void;
  report(error: unknown): void;
}

interface LiveRun {
  controller: AbortController;
  next: number;
  /** Assistant messages that existed before the run's turn: its own are the others. */
  before: Set<string>;
}

export class AgentToolChild<M extends UIMessage> {
  readonly #host: AgentToolChildHost<M>;
  readonly #live = new Map<string, LiveRun>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #ready = false;
  /** The agent left memory: its storage is closed, nothing more is written. */
  #gone = false;

  constructor(host: AgentToolChildHost<M>) {
    this.#host = host;
  }

  /** Starts the run (or reports the one with this id): resolves once it is recorded, before the turn ends. */
  start(input: unknown, runId: string): AgentToolRunInspection {
    if (typeof runId !== "string" || runId.length === 0) throw new TypeError("startAgentToolRun: options.runId must be a non-empty string");
    const existing = this.#row(runId);
    if (existing) return this.#inspection(existing);
    const startedAt = this.#host.now();
    this.#ensure();
    this.#host.db.statement(`INSERT INTO ${RUNS} (run_id, status, input_json, started_at) VALUES (?, 'starting', ?, ?)`).run(runId, toJson(input), startedAt);
    const live: LiveRun = { controller: new AbortController(), next: 0, before: new Set(this.#host.messages().filter((m) => m.role === "assistant").map((m) => m.id)) };
    this.#live.set(runId, live);
    const release = this.#host.keepAlive();
    void this.#run(runId, input, live).finally(release);
    return { runId, status: "running", startedAt };
  }

  async #run(runId: string, input: unknown, live: LiveRun): Promise<void> {
    const { db } = this.#host;
    try {
      db.statement(`UPDATE ${RUNS} SET status = 'running' WHERE run_id = ? AND status = 'starting'`).run(runId);
      const observe = (body: string) => {
        if (this.#gone) return;
        db.statement("INSERT INTO hearth_agent_tool_child_chunks (run_id, sequence, body) VALUES (?, ?, ?)").run(runId, live.next++, body);
        this.#notify(runId);
      };
      const result = await this.#host.runTurn(() => this.#host.formatInput(input, { runId }), live.controller.signal, observe);
      if (this.#gone) return;
      if (result.status === "aborted" || live.controller.signal.aborted) return this.#seal(runId, "aborted", { requestId: result.requestId });
      if (result.status === "skipped") return this.#seal(runId, "error", { requestId: result.requestId, error: "Agent tool run was skipped because the chat was cleared." });
      if (result.status === "error") return this.#seal(runId, "error", { requestId: result.requestId, error: result.error ?? "The child's turn failed" });
      const after = this.#host.messages().filter((m) => m.role !== "assistant" || !live.before.has(m.id));
      const request = { runId, input };
      const output = this.#host.output(request, after);
      const summary = this.#host.summary(request, output, after);
      this.#seal(runId, "completed", { requestId: result.requestId, output, summary });
    } catch (error) {
      if (this.#gone) return;
      if (live.controller.signal.aborted) return this.#seal(runId, "aborted", {});
      this.#seal(runId, "error", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.#live.delete(runId);
      this.#notify(runId);
    }
  }

  /** Stops the run's turn and ends it `aborted`; nothing for a run that ended already. */
  cancel(runId: string, reason?: unknown): void {
    const row = this.#row(runId);
    if (!row || row.completed_at !== null) return;
    this.#live.get(runId)?.controller.abort(reason ?? new Error("The agent tool run was cancelled"));
    this.#seal(runId, "aborted", reason === undefined ? {} : { error: reason instanceof Error ? reason.message : String(reason) });
    this.#notify(runId);
  }

  /** The run's record; a run cut short by a restart (its turn no longer runs) is ended `error` first. */
  inspect(runId: string): AgentToolRunInspection | null {
    const row = this.#row(runId);
    if (!row) return null;
    return this.#inspection(this.#reconciled(row));
  }

  /** The run's chunks after `afterSequence` (all from -1), at most one batch. */
  chunks(runId: string, afterSequence = -1, limit: number = AGENT_TOOL_LIMITS.pullBatchChunks): AgentToolStoredChunk[] {
    if (!this.#exists()) return [];
    const rows = this.#host.db
      .statement("SELECT sequence, body FROM hearth_agent_tool_child_chunks WHERE run_id = ? AND sequence > ? ORDER BY sequence LIMIT ?")
      .all(runId, afterSequence, limit);
    return rows.map((row) => ({ sequence: Number(row.sequence), body: String(row.body) }));
  }

  /**
   * The chunks after `afterSequence`, waiting up to `waitMs` for the first one while the run goes
   * on: the parent's live tail (a long poll, since a stream cannot cross a stub).
   */
  async pull(runId: string, afterSequence = -1, waitMs: number = AGENT_TOOL_LIMITS.pullWaitMs): Promise<AgentToolPull> {
    if (typeof waitMs !== "number" || !(waitMs >= 0) || waitMs > AGENT_TOOL_LIMITS.maxPullWaitMs) {
      throw new RangeError(`pullAgentToolChunks: waitMs must be 0-${AGENT_TOOL_LIMITS.maxPullWaitMs} ms (maxPullWaitMs), got ${String(waitMs)}`);
    }
    let waited = false;
    for (;;) {
      const found = this.#row(runId);
      if (!found) return { chunks: [], status: "missing", done: true };
      const row = this.#reconciled(found);
      const batch = this.chunks(runId, afterSequence, AGENT_TOOL_LIMITS.pullBatchChunks + 1);
      const more = batch.length > AGENT_TOOL_LIMITS.pullBatchChunks;
      const chunks = more ? batch.slice(0, -1) : batch;
      const status = row.status as ChildStatus;
      const ended = row.completed_at !== null;
      if (chunks.length > 0 || ended || waited) return { chunks, status, done: ended && !more };
      waited = true;
      await this.#wait(runId, waitMs);
    }
  }

  #wait(runId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiters.get(runId) ?? new Set<() => void>();
      this.#waiters.set(runId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  #notify(runId: string): void {
    for (const wake of [...(this.#waiters.get(runId) ?? [])]) wake();
  }

  /** A run recorded as going on whose turn does not run in this process was cut short by a restart. */
  #reconciled(row: Row): Row {
    if (row.completed_at !== null || this.#live.has(String(row.run_id))) return row;
    this.#seal(String(row.run_id), "error", { error: INTERRUPTED_CHILD_RUN });
    return this.#row(String(row.run_id)) ?? row;
  }

  #seal(runId: string, status: ChildStatus, fields: { requestId?: string; output?: unknown; summary?: string; error?: string }): void {
    this.#host.db
      .statement(
        `UPDATE ${RUNS} SET status = ?, request_id = coalesce(?, request_id), output_json = ?, summary = ?, error_message = ?, completed_at = ?
         WHERE run_id = ? AND completed_at IS NULL`,
      )
      .run(status, fields.requestId ?? null, toJson(fields.output), fields.summary ?? null, fields.error ?? null, this.#host.now(), runId);
  }

  #inspection(row: Row): AgentToolRunInspection {
    const inspection: AgentToolRunInspection = { runId: String(row.run_id), status: row.status as ChildStatus, startedAt: Number(row.started_at) };
    if (row.request_id !== null) inspection.requestId = String(row.request_id);
    if (row.output_json !== null) inspection.output = JSON.parse(String(row.output_json)) as unknown;
    if (row.summary !== null) inspection.summary = String(row.summary);
    if (row.error_message !== null) inspection.error = String(row.error_message);
    if (row.completed_at !== null) inspection.completedAt = Number(row.completed_at);
    return inspection;
  }

  #row(runId: string): Row | undefined {
    if (!this.#exists()) return undefined;
    return this.#host.db.statement(`SELECT * FROM ${RUNS} WHERE run_id = ?`).get(runId) as Row | undefined;
  }

  #exists(): boolean {
    return this.#ready || this.#host.db.hasTable(RUNS);
  }

  #ensure(): void {
    if (this.#ready) return;
    this.#host.db.execScript(SCHEMA);
    this.#ready = true;
  }

  /** The agent leaves memory: its runs stop where they are (a later inspect ends them as interrupted). */
  unload(): void {
    this.#gone = true;
    for (const live of this.#live.values()) live.controller.abort(new Error("The agent was unloaded"));
    for (const runId of [...this.#waiters.keys()]) this.#notify(runId);
  }
}

function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  return JSON.stringify(value) ?? null;
}
