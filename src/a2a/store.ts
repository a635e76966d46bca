/**
 * A2A tasks in the serving agent's own SQLite: every status change and artifact update in an
 * append-only log numbered per task (`_hearth_a2a_events`, what a resubscribing client replays from
 * its last seq), the task itself (`_hearth_a2a_tasks`), the client message ids already taken
 * (`_hearth_a2a_messages`, so a retried send finds its task) and the push notification targets
 * (`_hearth_a2a_push_configs`). Terminal states are final: the first one written wins.
 *
 * An update only adds its event to the log and moves the task's state and seq: the task's JSON is
 * rewritten when the task stops (a terminal state, or one waiting for the client) or takes a client
 * message, and a read applies the events logged since. Rewriting the whole task on every update
 * made a stream of N chunks cost O(N²): 10,000 chunks of 100 bytes held the agent's thread for 15-25 s.
 */
import type { AgentDatabase } from "../storage/database.ts";
import type { A2AArtifact, A2AMessage, A2APushConfig, A2AProtocolVersion, A2AStreamEvent, A2ATask, A2ATaskState } from "./types.ts";
import { isFinalState, TERMINAL_STATES } from "./types.ts";
import { addMissingColumns, type AddedColumn } from "../storage/added-columns.ts";
import { runTemplate } from "../storage/sql.ts";

/** What the log holds: status changes and artifact updates. */
export type LoggedEvent = Extract<A2AStreamEvent, { kind: "status" | "artifact" }>;

/**
 * `applied_seq`: the last event the `task` JSON includes, NULL when it includes them all (rows
 * written before events were applied on read have NULL). `in_history`: the status event's message
 * joins the task's history.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_a2a_tasks (
  id TEXT PRIMARY KEY, context_id TEXT NOT NULL, state TEXT NOT NULL, task TEXT NOT NULL,
  last_seq INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, applied_seq INTEGER
);
CREATE INDEX IF NOT EXISTS _hearth_a2a_tasks_updated ON _hearth_a2a_tasks (updated_at, id);
CREATE INDEX IF NOT EXISTS _hearth_a2a_tasks_state ON _hearth_a2a_tasks (state);
CREATE TABLE IF NOT EXISTS _hearth_a2a_events (
  task_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, at INTEGER NOT NULL, in_history INTEGER,
  PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _hearth_a2a_messages (
  message_id TEXT PRIMARY KEY, task_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _hearth_a2a_push_configs (
  task_id TEXT NOT NULL, id TEXT NOT NULL, config TEXT NOT NULL, version TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, id)
) WITHOUT ROWID;
`;

/** Columns added since the tables were first made: an older agent's tables get them on first use. */
const ADDED_COLUMNS: readonly AddedColumn[] = [
  { table: "_hearth_a2a_tasks", column: "applied_seq", type: "INTEGER" },
  { table: "_hearth_a2a_events", column: "in_history", type: "INTEGER" },
];

/** A type, not an interface: SQLite's rows (index signatures) convert to it. */
type TaskRow = {
  id: string;
  task: string;
  last_seq: number;
  applied_seq: number | null;
  updated_at: number;
};

const TASK_COLUMNS = "id, task, last_seq, applied_seq, updated_at";

/** What an update needs to know of a task, read without its content. */
export interface TaskHead {
  contextId: string;
  state: A2ATaskState;
  lastSeq: number;
}

/** A task and the seq of the last event in its log. */
export interface StoredTask {
  task: A2ATask;
  lastSeq: number;
}

/** A push target and the protocol version it was registered with (the shape it is sent in). */
export interface StoredPushConfig {
  taskId: string;
  config: A2APushConfig;
  version: A2AProtocolVersion;
  createdAt: number;
}

/** Filters and page of {@link A2ATaskStore.list}. */
export interface TaskListQuery {
  contextId?: string;
  state?: A2ATaskState;
  /** Epoch ms: only tasks updated at or after it. */
  updatedAfter?: number;
  /** The last task of the previous page (newest first). */
  before?: { updatedAt: number; position: number };
  limit: number;
}

const stores = new WeakMap<AgentDatabase, A2ATaskStore>();

/** The tasks of one agent. */
export class A2ATaskStore {
  readonly #db: AgentDatabase;

  private constructor(db: AgentDatabase) {
    this.#db = db;
    db.execScript(SCHEMA);
    addMissingColumns(ADDED_COLUMNS, (strings, ...values) => runTemplate(db, strings, values), (script) => db.execScript(script));
  }

  /** The store of `db` (its tables created on first use). */
  static of(db: AgentDatabase): A2ATaskStore {
    let store = stores.get(db);
    if (!store) stores.set(db, (store = new A2ATaskStore(db)));
    return store;
  }

  /** Settles when what was written so far is committed (immediately when nothing is pending). */
  committed(): Promise<void> {
    return this.#db.whenCommitted() ?? Promise.resolve();
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /** Records a new task, taken by its first message's id; its log starts with its status (which the task's JSON includes). */
  create(task: A2ATask, messageId: string, now: number): StoredTask {
    this.#db
      .statement("INSERT INTO _hearth_a2a_tasks (id, context_id, state, task, last_seq, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)")
      .run(task.id, task.contextId, task.status.state, JSON.stringify(task), now, now);
    this.#db.statement("INSERT INTO _hearth_a2a_messages (message_id, task_id) VALUES (?, ?)").run(messageId, task.id);
    this.#log(task.id, 1, { kind: "status", taskId: task.id, contextId: task.contextId, status: task.status, final: false }, now, false);
    return { task, lastSeq: 1 };
  }

  /** The task as it is now: its stored JSON with the events logged since applied. Costs the task's size. */
  get(id: string): StoredTask | undefined {
    const row = this.#db.statement(`SELECT ${TASK_COLUMNS} FROM _hearth_a2a_tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    return row && this.#current(row);
  }

  /** The task's context, state and last seq, read without the task itself: what an update needs. */
  head(id: string): TaskHead | undefined {
    const row = this.#db.statement("SELECT context_id, state, last_seq FROM _hearth_a2a_tasks WHERE id = ?").get(id) as
      | { context_id: string; state: A2ATaskState; last_seq: number }
      | undefined;
    return row && { contextId: row.context_id, state: row.state, lastSeq: row.last_seq };
  }

  /** The task a client message id started or continued, if that id was seen. */
  taskOfMessage(messageId: string): string | undefined {
    const row = this.#db.statement("SELECT task_id FROM _hearth_a2a_messages WHERE message_id = ?").get(messageId) as { task_id: string } | undefined;
    return row?.task_id;
  }

  /** A client message continuing a task: kept in its history, its id taken. Rewrites the task (a client's turn, not a stream). */
  addUserMessage(id: string, message: A2AMessage, now: number): void {
    const stored = this.get(id);
    if (!stored) return;
    stored.task.history.push(message);
    this.#db.statement("INSERT INTO _hearth_a2a_messages (message_id, task_id) VALUES (?, ?)").run(message.messageId, id);
    this.#write(stored.task, now);
  }

  /**
   * Appends an event to the task's log; with `inHistory`, the status event's message joins the task's
   * history. Costs the event's size: the task's JSON is only rewritten when the event stops the task
   * (terminal, or waiting for the client), so that a finished task reads without replaying its log.
   * Returns the event's seq, or undefined when the task is in a terminal state already (first terminal wins).
   * `head`: the task's head when the caller just read it.
   * @throws RangeError past `maxEvents` events (a terminal status is still accepted)
   */
  append(id: string, event: LoggedEvent, now: number, maxEvents: number, inHistory = false, head = this.head(id)): number | undefined {
    if (!head || TERMINAL_STATES.has(head.state)) return undefined;
    // A terminal status always fits: a task over the limit must still be able to end.
    const ends = event.kind === "status" && TERMINAL_STATES.has(event.status.state);
    if (head.lastSeq >= maxEvents && !ends) {
      throw new RangeError(`Task ${id} reached the limit of ${maxEvents} events (maxEventsPerTask); no more updates are kept`);
    }
    const seq = head.lastSeq + 1;
    const state = event.kind === "status" ? event.status.state : head.state;
    this.#log(id, seq, event, now, inHistory);
    // The right-hand sides see the row before the update: the first event not in the JSON pins applied_seq.
    this.#db
      .statement("UPDATE _hearth_a2a_tasks SET state = ?, last_seq = ?, updated_at = ?, applied_seq = COALESCE(applied_seq, last_seq) WHERE id = ?")
      .run(state, seq, now, id);
    if (event.kind === "status" && isFinalState(state)) this.#write(this.get(id)!.task, now);
    return seq;
  }

  /** Whether the task's status changed after the event logged at `seq`. */
  statusChangedAfter(id: string, seq: number): boolean {
    const row = this.#db
      .statement("SELECT 1 AS later FROM _hearth_a2a_events WHERE task_id = ? AND seq > ? AND json_extract(event, '$.kind') = 'status' LIMIT 1")
      .get(id, seq);
    return row !== undefined;
  }

  /** Events after `afterSeq`, oldest first; at most `limit`. */
  events(id: string, afterSeq: number, limit = -1): Array<{ seq: number; event: LoggedEvent }> {
    const rows = this.#db.statement("SELECT seq, event FROM _hearth_a2a_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?").all(id, afterSeq, limit) as Array<{
      seq: number;
      event: string;
    }>;
    return rows.map((row) => ({ seq: row.seq, event: JSON.parse(row.event) as LoggedEvent }));
  }

  /**
   * Tasks newest first (by last change; changes in one millisecond, the task made later first), with
   * the place to continue from. (Ids are random: as the tie-break they listed same-millisecond tasks
   * in no order.)
   */
  list(query: TaskListQuery): Array<{ task: A2ATask; updatedAt: number; position: number }> {
    const { where, values } = conditions(query);
    if (query.before) {
      where.push("(updated_at < ? OR (updated_at = ? AND rowid < ?))");
      values.push(query.before.updatedAt, query.before.updatedAt, query.before.position);
    }
    const sql = `SELECT rowid AS position, ${TASK_COLUMNS} FROM _hearth_a2a_tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY updated_at DESC, rowid DESC LIMIT ?`;
    const rows = this.#db.statement(sql).all(...values, query.limit) as Array<TaskRow & { position: number }>;
    return rows.map((row) => ({ task: this.#current(row).task, updatedAt: row.updated_at, position: Number(row.position) }));
  }

  /** Tasks matching the filters of `query` (its page ignored). */
  count(query: Omit<TaskListQuery, "before" | "limit">): number {
    const { where, values } = conditions(query);
    const sql = `SELECT count(*) AS n FROM _hearth_a2a_tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`;
    return (this.#db.statement(sql).get(...values) as { n: number }).n;
  }

  /** Tasks that were submitted or working: after a restart nothing runs them. */
  unfinished(): string[] {
    const rows = this.#db.statement("SELECT id FROM _hearth_a2a_tasks WHERE state IN ('submitted', 'working') ORDER BY created_at").all() as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  putPush(taskId: string, config: A2APushConfig, version: A2AProtocolVersion, now: number): StoredPushConfig {
    const existing = this.push(taskId, config.id);
    const createdAt = existing?.createdAt ?? now;
    this.#db
      .statement("INSERT OR REPLACE INTO _hearth_a2a_push_configs (task_id, id, config, version, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(taskId, config.id, JSON.stringify(config), version, createdAt);
    return { taskId, config, version, createdAt };
  }

  push(taskId: string, id: string): StoredPushConfig | undefined {
    const row = this.#db.statement("SELECT config, version, created_at FROM _hearth_a2a_push_configs WHERE task_id = ? AND id = ?").get(taskId, id) as
      | { config: string; version: string; created_at: number }
      | undefined;
    return row && { taskId, config: JSON.parse(row.config) as A2APushConfig, version: row.version as A2AProtocolVersion, createdAt: row.created_at };
  }

  pushes(taskId: string): StoredPushConfig[] {
    const rows = this.#db.statement("SELECT config, version, created_at FROM _hearth_a2a_push_configs WHERE task_id = ? ORDER BY created_at, id").all(taskId) as Array<{
      config: string;
      version: string;
      created_at: number;
    }>;
    return rows.map((row) => ({ taskId, config: JSON.parse(row.config) as A2APushConfig, version: row.version as A2AProtocolVersion, createdAt: row.created_at }));
  }

  deletePush(taskId: string, id: string): boolean {
    return Number(this.#db.statement("DELETE FROM _hearth_a2a_push_configs WHERE task_id = ? AND id = ?").run(taskId, id).changes) > 0;
  }

  #log(id: string, seq: number, event: LoggedEvent, now: number, inHistory: boolean): void {
    this.#db
      .statement("INSERT INTO _hearth_a2a_events (task_id, seq, event, at, in_history) VALUES (?, ?, ?, ?, ?)")
      .run(id, seq, JSON.stringify(event), now, inHistory ? 1 : null);
  }

  /** The task of a row, with the events its JSON does not include yet applied. */
  #current(row: TaskRow): StoredTask {
    const task = JSON.parse(row.task) as A2ATask;
    if (row.applied_seq !== null && row.applied_seq < row.last_seq) {
      const rows = this.#db.statement("SELECT event, in_history FROM _hearth_a2a_events WHERE task_id = ? AND seq > ? ORDER BY seq").all(row.id, row.applied_seq) as Array<{
        event: string;
        in_history: number | null;
      }>;
      applyEvents(task, rows.map((logged) => ({ event: JSON.parse(logged.event) as LoggedEvent, inHistory: logged.in_history === 1 })));
    }
    task.lastModified = new Date(row.updated_at).toISOString();
    return { task, lastSeq: row.last_seq };
  }

  /** Stores the whole task as it is now: its JSON includes every event logged so far. */
  #write(task: A2ATask, now: number): void {
    task.lastModified = new Date(now).toISOString();
    this.#db.statement("UPDATE _hearth_a2a_tasks SET task = ?, applied_seq = NULL, updated_at = ? WHERE id = ?").run(JSON.stringify(task), now, task.id);
  }
}

function conditions(query: Omit<TaskListQuery, "before" | "limit">): { where: string[]; values: Array<string | number> } {
  const where: string[] = [];
  const values: Array<string | number> = [];
  if (query.contextId !== undefined) {
    where.push("context_id = ?");
    values.push(query.contextId);
  }
  if (query.state !== undefined) {
    where.push("state = ?");
    values.push(query.state);
  }
  if (query.updatedAfter !== undefined) {
    where.push("updated_at >= ?");
    values.push(query.updatedAfter);
  }
  return { where, values };
}

/**
 * Applies logged events to a task read from its JSON (its objects are this call's own, so they are
 * changed in place: copying an artifact's parts for each appended chunk would make N chunks O(N²)).
 */
function applyEvents(task: A2ATask, events: ReadonlyArray<{ event: LoggedEvent; inHistory: boolean }>): void {
  const positions = new Map<string, number>();
  task.artifacts.forEach((artifact, position) => {
    if (!positions.has(artifact.artifactId)) positions.set(artifact.artifactId, position);
  });
  for (const { event, inHistory } of events) {
    if (event.kind === "artifact") {
      applyArtifact(task.artifacts, positions, event.artifact, event.append);
      continue;
    }
    task.status = event.status;
    if (inHistory && event.status.message) task.history.push(event.status.message);
  }
}

/**
 * An artifact update: `append` adds its parts to the artifact with the same id (its other fields
 * win, metadata is merged), otherwise it replaces (or adds) it. `positions` maps ids to indexes.
 */
function applyArtifact(artifacts: A2AArtifact[], positions: Map<string, number>, artifact: A2AArtifact, append: boolean): void {
  const position = positions.get(artifact.artifactId);
  if (position === undefined) {
    positions.set(artifact.artifactId, artifacts.length);
    artifacts.push(artifact);
    return;
  }
  if (!append) {
    artifacts[position] = artifact;
    return;
  }
  const existing = artifacts[position]!;
  const { parts, metadata, ...fields } = artifact;
  for (const part of parts) existing.parts.push(part);
  Object.assign(existing, fields);
  if (metadata) existing.metadata = { ...existing.metadata, ...metadata };
}
