/**
 * A2A tasks in the serving agent's own SQLite: the task as it is now (`_hearth_a2a_tasks`), every
 * status change and artifact update in an append-only log numbered per task (`_hearth_a2a_events`,
 * what a resubscribing client replays from its last seq), the client message ids already taken
 * (`_hearth_a2a_messages`, so a retried send finds its task) and the push notification targets
 * (`_hearth_a2a_push_configs`). Terminal states are final: the first one written wins.
 */
import type { AgentDatabase } from "../storage/database.ts";
import type { A2AArtifact, A2AMessage, A2APushConfig, A2AProtocolVersion, A2AStreamEvent, A2ATask, A2ATaskState } from "./types.ts";
import { TERMINAL_STATES } from "./types.ts";

/** What the log holds: status changes and artifact updates. */
export type LoggedEvent = Extract<A2AStreamEvent, { kind: "status" | "artifact" }>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS _hearth_a2a_tasks (
  id TEXT PRIMARY KEY, context_id TEXT NOT NULL, state TEXT NOT NULL, task TEXT NOT NULL,
  last_seq INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS _hearth_a2a_tasks_updated ON _hearth_a2a_tasks (updated_at, id);
CREATE INDEX IF NOT EXISTS _hearth_a2a_tasks_state ON _hearth_a2a_tasks (state);
CREATE TABLE IF NOT EXISTS _hearth_a2a_events (
  task_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, at INTEGER NOT NULL,
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

interface TaskRow {
  task: string;
  last_seq: number;
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

  /** Records a new task, taken by its first message's id; its log starts with its status. */
  create(task: A2ATask, messageId: string, now: number): StoredTask {
    this.#db
      .statement("INSERT INTO _hearth_a2a_tasks (id, context_id, state, task, last_seq, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)")
      .run(task.id, task.contextId, task.status.state, JSON.stringify(task), now, now);
    this.#db.statement("INSERT INTO _hearth_a2a_messages (message_id, task_id) VALUES (?, ?)").run(messageId, task.id);
    const seq = this.#log(task.id, 1, { kind: "status", taskId: task.id, contextId: task.contextId, status: task.status, final: false }, now);
    this.#db.statement("UPDATE _hearth_a2a_tasks SET last_seq = ? WHERE id = ?").run(seq, task.id);
    return { task, lastSeq: seq };
  }

  get(id: string): StoredTask | undefined {
    const row = this.#db.statement("SELECT task, last_seq FROM _hearth_a2a_tasks WHERE id = ?").get(id) as TaskRow | undefined;
    return row && { task: JSON.parse(row.task) as A2ATask, lastSeq: row.last_seq };
  }

  /** The task a client message id started or continued, if that id was seen. */
  taskOfMessage(messageId: string): string | undefined {
    const row = this.#db.statement("SELECT task_id FROM _hearth_a2a_messages WHERE message_id = ?").get(messageId) as { task_id: string } | undefined;
    return row?.task_id;
  }

  /** A client message continuing a task: kept in its history, its id taken. */
  addUserMessage(id: string, message: A2AMessage, now: number): void {
    const stored = this.get(id);
    if (!stored) return;
    stored.task.history.push(message);
    this.#db.statement("INSERT INTO _hearth_a2a_messages (message_id, task_id) VALUES (?, ?)").run(message.messageId, id);
    this.#save(stored.task, stored.lastSeq, now);
  }

  /**
   * Appends an event and applies it to the task; `keep` is an agent message to add to the history.
   * Returns the event's seq, or undefined when the task is in a terminal state already (first terminal wins).
   * @throws RangeError past `maxEvents` events (a terminal status is still accepted)
   */
  append(id: string, event: LoggedEvent, now: number, maxEvents: number, keep?: A2AMessage): number | undefined {
    const stored = this.get(id);
    if (!stored || TERMINAL_STATES.has(stored.task.status.state)) return undefined;
    // A terminal status always fits: a task over the limit must still be able to end.
    const ends = event.kind === "status" && TERMINAL_STATES.has(event.status.state);
    if (stored.lastSeq >= maxEvents && !ends) {
      throw new RangeError(`Task ${id} reached the limit of ${maxEvents} events (maxEventsPerTask); no more updates are kept`);
    }
    const { task } = stored;
    if (event.kind === "status") task.status = event.status;
    else applyArtifact(task.artifacts, event.artifact, event.append);
    if (keep) task.history.push(keep);
    const seq = this.#log(id, stored.lastSeq + 1, event, now);
    this.#save(task, seq, now);
    return seq;
  }

  /** Events after `afterSeq`, oldest first. */
  events(id: string, afterSeq: number): Array<{ seq: number; event: LoggedEvent }> {
    const rows = this.#db.statement("SELECT seq, event FROM _hearth_a2a_events WHERE task_id = ? AND seq > ? ORDER BY seq").all(id, afterSeq) as Array<{
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
    const sql = `SELECT rowid AS position, task, updated_at FROM _hearth_a2a_tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY updated_at DESC, rowid DESC LIMIT ?`;
    const rows = this.#db.statement(sql).all(...values, query.limit) as Array<{ position: number; task: string; updated_at: number }>;
    return rows.map((row) => ({ task: JSON.parse(row.task) as A2ATask, updatedAt: row.updated_at, position: Number(row.position) }));
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

  #log(id: string, seq: number, event: LoggedEvent, now: number): number {
    this.#db.statement("INSERT INTO _hearth_a2a_events (task_id, seq, event, at) VALUES (?, ?, ?, ?)").run(id, seq, JSON.stringify(event), now);
    return seq;
  }

  #save(task: A2ATask, lastSeq: number, now: number): void {
    task.lastModified = new Date(now).toISOString();
    this.#db
      .statement("UPDATE _hearth_a2a_tasks SET state = ?, task = ?, last_seq = ?, updated_at = ? WHERE id = ?")
      .run(task.status.state, JSON.stringify(task), lastSeq, now, task.id);
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

/** An artifact update: `append` adds its parts to the artifact with the same id, otherwise it replaces (or adds) it. */
function applyArtifact(artifacts: A2AArtifact[], artifact: A2AArtifact, append: boolean): void {
  const index = artifacts.findIndex((existing) => existing.artifactId === artifact.artifactId);
  if (index === -1) artifacts.push(artifact);
  else if (append) {
    const existing = artifacts[index]!;
    const metadata = existing.metadata || artifact.metadata ? { metadata: { ...existing.metadata, ...artifact.metadata } } : {};
    artifacts[index] = { ...existing, ...artifact, parts: [...existing.parts, ...artifact.parts], ...metadata };
  } else artifacts[index] = artifact;
}
