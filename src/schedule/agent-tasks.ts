import { randomUUID } from "node:crypto";
import type { AgentDatabase } from "../storage/database.ts";
import { backoffDelay, DEFAULT_RETRY, type RetryOptions } from "../time/backoff.ts";
import { runRetry, storedRetry } from "./retry-policy.ts";
import type { Clock } from "../time/clock.ts";
import { nextCronTime } from "../time/cron.ts";
import { dueTime, LATEST_TIME_MS } from "../time/duration.ts";
import { intervalMs, rangeBound, scheduleTiming } from "./schedule-timing.ts";
import { resolveTaskCallback } from "./task-handlers.ts";
import { messageOf } from "../agent/rpc.ts";
import { decodePayload, encodePayload, toQueueItem, toSchedule } from "./task-records.ts";
import { TaskStore, type TaskRow } from "./task-store.ts";
import type {
  QueueItem,
  Schedule,
  ScheduleCriteria,
  ScheduleOptions,
  TaskFailure,
  TaskRef,
} from "./types.ts";
import { emitAgentEvent } from "../events/index.ts";
import { reportScheduleLag } from "../agent/signals.ts";
import { ALARM_CALLBACK } from "./types.ts";
import { instrumentActorEvent } from "../agent/instrumentation.ts";

/** What an agent's tasks need from the runtime that hosts the agent. */
export interface TaskRuntime {
  readonly className: string;
  readonly name: string;
  readonly db: AgentDatabase;
  readonly clock: Clock;
  /** Unfinished runs in a row after which a task is stopped (the crash-loop breaker). */
  readonly crashLoopLimit: number;
  /** Something is due at `at`: the host must wake the agent by then, even after a restart. */
  tasksChanged(at: number): void;
}

/** What `runNext` did, and what the dispatcher does next. */
export interface NextOutcome {
  /** The task it ran (or tried to), or null when nothing was due. */
  ran: TaskRef | null;
  /** Another task is due already: call again. */
  more: boolean;
  /** The earliest time anything is due after this (when `more` is false). */
  nextDue: number | null;
}

/**
 * One agent's schedules and queue: the public API (`schedule`, `queue`, …) and the steps the host's
 * dispatcher runs when something is due. Each step is its own event in the agent's mailbox, so a
 * callback's writes and the advance of its schedule commit together, and a failing callback's writes
 * are undone before its failure is recorded.
 */
export class AgentTasks {
  readonly #runtime: TaskRuntime;
  readonly #agent: object;
  readonly #store: TaskStore;
  readonly #reportError: (error: unknown) => void;
  /** The class's retry policy (its `static options.retry`), for tasks scheduled without one. */
  readonly #retryDefaults: Required<RetryOptions>;
  /**
   * Runs under way, by task id. A run may finish its task only while it is still here: a cancel,
   * a replacement, a reset or a hang report in the meantime takes it out (kept in memory: a run never
   * outlives its process, and a crash is the run journal's business).
   */
  readonly #runs = new Map<string, number>();
  /** Tells this agent's runs apart (a counter: cheaper than a UUID per run). */
  #runSeq = 0;
  /**
   * Running tasks cancelled through the Agent API (`cancelSchedule`, `dequeue`), by run key. When the
   * run then fails, its event's writes are undone and the cancel with them; as in the Agents SDK, where
   * an exception undoes no cancel, the failure step deletes the task again instead of retrying it.
   */
  readonly #cancelledWhileRunning = new Set<string>();

  constructor(
    runtime: TaskRuntime,
    agent: object,
    reportError: (error: unknown) => void,
    retryDefaults: Required<RetryOptions> = DEFAULT_RETRY,
  ) {
    this.#runtime = runtime;
    this.#agent = agent;
    this.#store = new TaskStore(runtime.db);
    this.#reportError = reportError;
    this.#retryDefaults = retryDefaults;
  }

  invalidate(): void {
    this.#store.invalidate();
  }

  /** False for an agent that never scheduled or queued anything (it has no task tables). */
  get hasTasks(): boolean {
    return this.#store.exists;
  }

  // Schedules

  schedule<T>(when: Date | string | number, callback: string, payload: T | undefined, options: ScheduleOptions = {}): Schedule<T> {
    this.#checkCallback(callback, "schedule");
    const retry = this.#retryJson(options.retry);
    const json = encodePayload(payload);
    const now = this.#runtime.clock.now();
    const row = { id: randomUUID(), callback, payload: json, retry, created_at: now, ...scheduleTiming(when, now, options.timezone) };
    if (options.idempotent ?? row.type === "cron") {
      const existing = this.#store.findSame(row);
      if (existing) return toSchedule<T>(existing);
    }
    const inserted = this.#store.insertSchedule(row);
    emitAgentEvent(this.#agent, "schedule:create", () => ({ callback, id: inserted.id }));
    this.#tasksChanged(row.due_at);
    return toSchedule<T>(inserted);
  }

  scheduleEvery<T>(intervalSeconds: number, callback: string, payload: T | undefined, options: { retry?: RetryOptions } = {}): Schedule<T> {
    this.#checkCallback(callback, "scheduleEvery");
    const interval = intervalMs(intervalSeconds);
    const now = this.#runtime.clock.now();
    const dueAt = dueTime(now + interval, `scheduleEvery(): an interval of ${intervalSeconds} seconds`);
    const json = encodePayload(payload);
    const retry = this.#retryJson(options.retry);
    // Idempotent: calling it again (say, in every onStart) returns the schedule that exists.
    const existing = this.#store.findSame({ callback, payload: json, type: "interval", interval_ms: interval });
    if (existing) return toSchedule<T>(existing);
    const inserted = this.#store.insertSchedule({
      id: randomUUID(),
      callback,
      payload: json,
      type: "interval",
      due_at: dueAt,
      interval_ms: interval,
      retry,
      created_at: now,
    });
    emitAgentEvent(this.#agent, "schedule:create", () => ({ callback, id: inserted.id }));
    this.#tasksChanged(dueAt);
    return toSchedule<T>(inserted);
  }

  getSchedule<T>(id: string): Schedule<T> | undefined {
    const row = this.#store.get({ kind: "schedule", id: String(id) });
    return row ? toSchedule<T>(row) : undefined;
  }

  listSchedules<T>(criteria: ScheduleCriteria = {}): Schedule<T>[] {
    const start = rangeBound(criteria.timeRange?.start, "start");
    const end = rangeBound(criteria.timeRange?.end, "end");
    return this.#store.listSchedules({ id: criteria.id, type: criteria.type, start, end }).map((row) => toSchedule<T>(row));
  }

  /**
   * `evenIfRunFails`: a cancel of the task whose callback is running stands when that callback then
   * throws (the Agent API). Without it the cancel is undone with the failed run's other writes (a
   * Durable Object's alarm, which a failing `alarm()` keeps).
   */
  cancelSchedule(id: string, { evenIfRunFails = false }: CancelOptions = {}): boolean {
    this.#cancelRun({ kind: "schedule", id: String(id) }, evenIfRunFails);
    emitAgentEvent(this.#agent, "schedule:cancel", () => taskOf(this.#store.get({ kind: "schedule", id: String(id) })));
    return this.#store.delete({ kind: "schedule", id: String(id) });
  }

  // Queue

  queue<T>(callback: string, payload: T, options: { retry?: RetryOptions; id?: string } = {}): string {
    this.#checkCallback(callback, "queue");
    const id = options.id ?? randomUUID();
    if (typeof id !== "string" || id.length === 0 || id.length > 256) {
      throw new TypeError("queue(): `id` must be a string of 1-256 characters");
    }
    const now = this.#runtime.clock.now();
    // A replacement is not the item a running callback was given (nor one it cancelled).
    this.#runs.delete(runKey({ kind: "queue", id }));
    this.#cancelledWhileRunning.delete(runKey({ kind: "queue", id }));
    this.#store.upsertQueueItem({
      id,
      callback,
      payload: encodePayload(payload),
      retry: this.#retryJson(options.retry),
      due_at: now,
      created_at: now,
    });
    emitAgentEvent(this.#agent, "queue:create", () => ({ callback, id }));
    this.#tasksChanged(now);
    return id;
  }

  /** `evenIfRunFails`: as for {@link cancelSchedule}. */
  dequeue(id: string, { evenIfRunFails = false }: CancelOptions = {}): boolean {
    this.#cancelRun({ kind: "queue", id: String(id) }, evenIfRunFails);
    return this.#store.delete({ kind: "queue", id: String(id) });
  }

  dequeueAll(callback?: string, { evenIfRunFails = false }: CancelOptions = {}): number {
    for (const id of this.#store.queueIds(callback)) this.#cancelRun({ kind: "queue", id }, evenIfRunFails);
    return this.#store.deleteQueue(callback);
  }

  /** A task is cancelled: a run of it under way may no longer finish it. */
  #cancelRun(ref: TaskRef, evenIfRunFails: boolean): void {
    const key = runKey(ref);
    if (this.#runs.delete(key) && evenIfRunFails) this.#cancelledWhileRunning.add(key);
  }

  getQueue<T>(id: string): QueueItem<T> | undefined {
    const row = this.#store.get({ kind: "queue", id: String(id) });
    return row ? toQueueItem<T>(row) : undefined;
  }

  /** Queue items in order; with `key`, those whose payload's `key` is `value` (`===`, as Cloudflare compares: null and booleans too). */
  getQueues<T>(key?: string, value?: unknown): QueueItem<T>[] {
    const items = this.#store.listQueue().map((row) => toQueueItem<T>(row));
    if (key === undefined) return items;
    return items.filter(({ payload }) => typeof payload === "object" && payload !== null && (payload as Record<string, unknown>)[key] === value);
  }

  // Failures and the breaker

  failures(limit = 100): TaskFailure[] {
    return this.#store.failures(Math.max(1, Math.min(1000, Math.floor(limit))));
  }

  /** Clears a task's breaker and failed attempts; it runs at its due time again (now, if overdue). */
  resetTask(id: string): boolean {
    for (const kind of ["schedule", "queue"] as const) {
      this.#runs.delete(runKey({ kind, id: String(id) }));
      const row = this.#store.get({ kind, id: String(id) });
      if (!row) continue;
      const dueAt = Math.max(row.due_at, row.tripped_at === null ? row.due_at : this.#runtime.clock.now());
      this.#store.update({ kind, id: row.id }, { due_at: dueAt, attempts: 0, started: 0, last_error: null, tripped_at: null });
      this.#tasksChanged(dueAt);
      return true;
    }
    return false;
  }

  /**
   * "Run now" of queue item `id`: first in line, due now, its breaker cleared, its attempts and last
   * error kept (the run is its next attempt). Not while a run of it is under way ("running"): that
   * run's failure step would undo it.
   */
  runQueuedNow(id: string): "promoted" | "running" | "missing" {
    if (this.#runs.has(runKey({ kind: "queue", id: String(id) }))) return "running";
    const now = this.#runtime.clock.now();
    if (!this.#store.promoteQueueItem(String(id), now)) return "missing";
    this.#tasksChanged(now);
    return "promoted";
  }

  // Dispatcher steps (each runs as its own event)

  /** Readies the agent for a run due soon: its connection open, the statements of a run prepared. */
  warm(): void {
    this.#store.prepareRun();
    const next = this.#store.nextDue();
    if (next !== null) this.#store.keepOpenUntil(next, this.#runtime.clock.now());
  }

  /** Something is due at `at`: the host learns it, and the connection stays open if it is due soon. */
  #tasksChanged(at: number): void {
    this.#runtime.tasksChanged(at);
    this.#store.keepOpenUntil(at, this.#runtime.clock.now());
  }

  nextDue(): number | null {
    return this.#store.nextDue();
  }

  /**
   * Runs the earliest due task, and says whether another is due and when the next one is: one event
   * per task. `onStart` learns the task before its callback runs (for failure and hang handling).
   */
  async runNext(now: number, onStart: (ref: TaskRef) => void): Promise<NextOutcome> {
    const next = this.#store.nextDueTask(now);
    if (!next) return { ran: null, more: false, nextDue: this.#store.nextDue() };
    const { ref, row, then } = next;
    onStart(ref);
    await this.#run(ref, row, now);
    // The callback destroyed the agent (its storage is gone with its tasks): nothing left to record.
    if (!this.#runtime.db.isOpen) return { ran: ref, more: false, nextDue: null };
    // What the head query saw next can only be early (the callback cancelled it: one wasted wake);
    // anything the callback scheduled or moved earlier lowered the host's entry itself (tasksChanged).
    const nextDue = then !== undefined && row.type !== "cron" && row.type !== "interval" ? then : this.#store.nextDue();
    const more = nextDue !== null && nextDue <= this.#runtime.clock.now();
    if (nextDue !== null) this.#store.keepOpenUntil(nextDue, this.#runtime.clock.now());
    return { ran: ref, more, nextDue: more ? null : nextDue };
  }

  /**
   * Runs one due task. A task whose runs crashed the process `crashLoopLimit` times in a row (counted
   * from the host's run journal) is stopped instead of run again. The task is deleted or advanced only
   * after its callback finished, in the same transaction as its writes.
   */
  async #run(ref: TaskRef, row: TaskRow, now: number): Promise<void> {
    if (row.started >= this.#runtime.crashLoopLimit) {
      this.#trip(ref, row, now);
      return;
    }
    // The crash detector is the host's run journal, written before this callback runs (no commit here).
    const runId = ++this.#runSeq;
    this.#runs.set(runKey(ref), runId);
    this.#cancelledWhileRunning.delete(runKey(ref)); // left by an earlier run given up on as hung
    const method = resolveTaskCallback(this.#agent, row.callback);
    try {
      if (method === undefined) {
        throw new TypeError(`${this.#runtime.className} has no method "${row.callback}" (called by ${ref.kind} ${ref.id})`);
      }
      const record = ref.kind === "schedule" ? toSchedule(row) : toQueueItem(row);
      reportScheduleLag(this.#runtime.className, row.due_at, now);
      emitAgentEvent(this.#agent, runEventOf(ref, row), () => retryOf(ref, row, this.#retryOf(row).maxAttempts));
      const alarm = row.callback === ALARM_CALLBACK;
      await instrumentActorEvent(this.#runtime.className, this.#runtime.name, alarm ? "alarm" : ref.kind, alarm ? undefined : row.callback, () => method(decodePayload(row.payload), record), true);
    } catch (error) {
      this.#reportError(error);
      throw error;
    }
    // A task cancelled, replaced, reset or given up on as hung while it ran is left alone; so is the
    // task of an agent that destroyed itself. A cancel made by the callback commits with its writes.
    this.#cancelledWhileRunning.delete(runKey(ref));
    if (this.#runs.get(runKey(ref)) !== runId || !this.#runtime.db.isOpen) return;
    this.#runs.delete(runKey(ref));
    if (ref.kind === "queue" || row.type === "scheduled" || row.type === "delayed") {
      this.#store.delete(ref);
    } else {
      const dueAt = this.#nextRecurrence(row, this.#runtime.clock.now());
      if (this.#store.finishAdvance(ref, dueAt)) this.#tasksChanged(dueAt);
    }
  }

  /**
   * The run's event failed and its writes were undone (its run mark with them): count the attempt,
   * back off or give up.
   */
  failed(ref: TaskRef, error: unknown, now: number): void {
    this.#runs.delete(runKey(ref));
    if (this.#standingCancel(ref)) return;
    const row = this.#store.get(ref);
    if (!row) return;
    this.#attemptFailed(ref, row, messageOf(error), now, 0);
  }

  /** The run has not finished after the hung-task timeout: counts as a failed attempt and as a crash. */
  hung(ref: TaskRef, message: string, now: number): void {
    if (this.#standingCancel(ref) || !this.#runs.delete(runKey(ref))) return;
    const row = this.#store.get(ref);
    if (!row) return;
    this.#attemptFailed(ref, row, message, now, row.started + 1);
  }

  /**
   * The run's callback cancelled its own task through the Agent API: the cancel stands whatever
   * becomes of the run's writes (deleted again here, in this step's own event). True if so.
   */
  #standingCancel(ref: TaskRef): boolean {
    if (!this.#cancelledWhileRunning.delete(runKey(ref))) return false;
    this.#store.delete(ref);
    return true;
  }

  /** Runs of these tasks crashed the last process (from the run journal): the breaker counts them. */
  crashed(refs: readonly TaskRef[]): void {
    for (const ref of refs) this.#store.countCrash(ref);
  }

  #attemptFailed(ref: TaskRef, row: TaskRow, error: string, now: number, started: number): void {
    const retry = this.#retryOf(row);
    const attempts = row.attempts + 1;
    if (attempts < retry.maxAttempts) {
      const dueAt = Math.min(now + backoffDelay(attempts, retry), LATEST_TIME_MS); // a retry delay of ages waits until then
      this.#store.update(ref, { due_at: dueAt, attempts, started, last_error: error, tripped_at: null });
      this.#tasksChanged(dueAt);
      return;
    }
    this.#recordFailure(ref, row, error, attempts, now);
    emitAgentEvent(this.#agent, ref.kind === "schedule" ? "schedule:error" : "queue:error", () => ({ callback: row.callback, id: row.id, error, attempts }));
    this.#advance(ref, row, now, error, started);
  }

  /** Done with this run: delete a one-off task, move a recurring one to its next time. */
  #advance(ref: TaskRef, row: TaskRow, now: number, error: string | null, started: number): void {
    if (ref.kind === "queue" || row.type === "scheduled" || row.type === "delayed") {
      this.#store.delete(ref);
      return;
    }
    const dueAt = this.#nextRecurrence(row, now);
    this.#store.update(ref, { due_at: dueAt, attempts: 0, started, last_error: error, tripped_at: null });
    this.#tasksChanged(dueAt);
  }

  /** The next run of a cron or interval schedule after one at `now`. */
  #nextRecurrence(row: TaskRow, now: number): number {
    // Runs missed while the process was down are coalesced: the next one is the next after now.
    if (row.type === "cron") return nextCronTime(row.cron!, Math.max(now, row.due_at), row.timezone ?? undefined);
    const interval = row.interval_ms!;
    return row.due_at + interval > now ? row.due_at + interval : now + interval;
  }

  #trip(ref: TaskRef, row: TaskRow, now: number): void {
    const runNow = ref.kind === "queue" ? " (or run it now: the inspector, `hearth inspect run-queued`)" : "";
    const error = `Stopped by the crash-loop breaker: ${row.started} runs in a row never finished (the process crashed or the callback hung); call resetTask(${JSON.stringify(ref.id)})${runNow} to run it again`;
    this.#store.update(ref, { due_at: row.due_at, attempts: row.attempts, started: row.started, last_error: error, tripped_at: now });
    this.#recordFailure(ref, row, error, row.attempts, now);
    this.#reportError(new Error(`${this.#runtime.className}/${this.#runtime.name} ${ref.kind} ${ref.id} (${row.callback}): ${error}`));
  }

  #recordFailure(ref: TaskRef, row: TaskRow, error: string, attempts: number, now: number): void {
    const payload = decodePayload(row.payload);
    this.#store.recordFailure({ kind: ref.kind, taskId: ref.id, callback: row.callback, payload, error, attempts, failedAt: now });
  }

  #checkCallback(callback: unknown, api: string): asserts callback is string {
    if (typeof callback !== "string" || resolveTaskCallback(this.#agent, callback) === undefined) {
      throw new TypeError(`${api}(): ${this.#runtime.className} has no method ${JSON.stringify(callback)} to call`);
    }
  }

  #retryJson(retry: RetryOptions | undefined): string | null {
    return storedRetry(retry, this.#retryDefaults);
  }

  #retryOf(row: TaskRow): Required<RetryOptions> {
    return runRetry(row.retry, this.#retryDefaults);
  }
}

/** How a cancel treats a run of the task under way. */
export interface CancelOptions {
  evenIfRunFails?: boolean;
}

function runKey(ref: TaskRef): string {
  return `${ref.kind}:${ref.id}`;
}

/** The event of a task's run: a schedule's first run executes, later ones retry; a queue item only reports retries. */
function runEventOf(ref: TaskRef, row: TaskRow): "schedule:execute" | "schedule:retry" | "queue:retry" {
  if (ref.kind === "queue") return "queue:retry";
  return row.attempts === 0 ? "schedule:execute" : "schedule:retry";
}

/** `{ callback, id }` of a task row, or undefined (no event) when there is none. */
function taskOf(row: TaskRow | undefined): { callback: string; id: string } | undefined {
  return row && { callback: row.callback, id: row.id };
}

/**
 * A run's payload: `{ callback, id }` for a schedule's first attempt, plus `attempt` and `maxAttempts`
 * for a retry; undefined (no event) for a queue item's first attempt, which the SDK does not report.
 */
function retryOf(ref: TaskRef, row: TaskRow, maxAttempts: number): { callback: string; id: string; attempt?: number; maxAttempts?: number } | undefined {
  if (row.attempts === 0) return ref.kind === "queue" ? undefined : { callback: row.callback, id: row.id };
  return { callback: row.callback, id: row.id, attempt: row.attempts + 1, maxAttempts };
}

