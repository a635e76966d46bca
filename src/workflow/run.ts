import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import { serialize } from "node:v8";
import { deserializeClone } from "../web/structured-clone.ts";
import { LIMITS } from "../limits.ts";
import type { Clock } from "../time/clock.ts";
import { dueTime, formatDuration, parseDuration, type Duration } from "../time/duration.ts";
import {
  fromStoredError,
  isNonRetryable,
  NonRetryableError,
  toStoredError,
  WorkflowNondeterminismError,
  WorkflowTimeoutError,
} from "./errors.ts";
import type { StepRow, WorkflowStore } from "./store.ts";
import { backoff, resolveRetries, retryDelay, type StepRetries } from "./step-config.ts";
import { withStepTimeout } from "./step-timeout.ts";
import type { WorkflowStep, WorkflowStepConfig, WorkflowStepContext, WorkflowStepEvent, WorkflowStepRollbackOptions } from "./types.ts";
import { traceFromParent } from "../observability/traces/hooks.ts";
import { tracingOn } from "../observability/traces/tracer.ts";
import { GEN_AI_WORKFLOW_NAME, HEARTH_WORKFLOW_INSTANCE } from "../observability/traces/semconv.ts";

/** Default timeout of `step.waitForEvent`. */
export const EVENT_TIMEOUT_MS = 24 * 3600_000;

/** What a run needs from the engine. */
export interface RunHost {
  readonly store: WorkflowStore;
  readonly clock: Clock;
  /** Nothing is running and every branch waits: leave memory; wake at `at` (null: only an event or resume). */
  suspend(run: WorkflowRun, at: number | null): void;
  /** A run that left memory calls a step: whether it may come back and go on. */
  revive(run: WorkflowRun): boolean;
}

/** A promise that never settles: the branch waits until the instance is replayed. */
const parked = (): Promise<never> => new Promise<never>(() => {});

/**
 * One execution of `run()` for one instance, from the top. Steps recorded by earlier executions return
 * their stored results; the first step without a record runs for real. When every branch of the run
 * waits (a sleep, an event, a retry's backoff) and no step is executing, the run is dropped and the
 * instance waits for its durable timer: a sleeping instance costs no memory. A branch that was awaiting
 * other work and then calls a step brings the run back.
 */
export class WorkflowRun {
  readonly workflow: string;
  readonly id: string;
  readonly epoch: number;
  /** Set by the engine (pause, terminate, restart): the next step boundary parks for good. */
  stopped = false;
  /**
   * Set by the engine before a terminate or restart is written: this execution may no longer record
   * anything (a step finishing late is dropped). A pause only stops; its running step is recorded.
   */
  fenced = false;
  /** Done replaying recorded steps: progress reports are live. */
  live = false;
  suspended = false;
  /** The traceparent of the span that created the instance: each step's span continues its trace. */
  traceparent: string | undefined;
  /** Rejects when the instance must end whatever `run` catches (a step's value that cannot be stored). */
  readonly fatal: Promise<never>;
  readonly #failInstance: (error: Error) => void;
  readonly #host: RunHost;
  /** Calls so far per kind and name (`do:charge`): each kind counts its own, as on Cloudflare. */
  readonly #occurrences = new Map<string, number>();
  /** Calls so far per name, whatever their kind: the counter of {@link #sharedCounterKeys}. */
  readonly #sharedOccurrences = new Map<string, number>();
  /**
   * Recorded under the keys of earlier releases, where do, sleep and waitForEvent shared one
   * occurrence counter per name: such an instance keeps replaying under those keys.
   */
  #sharedCounterKeys = false;
  readonly #byKey = new Map<string, Omit<StepRow, "result" | "error">>();
  /** Keys recorded by earlier executions not reached yet by this one: once none is left, what runs is new (live). */
  readonly #toReplay = new Set<string>();
  /**
   * The highest `seq` recorded by earlier executions: the replay frontier. Reaching that step again
   * makes the run live even when other records are never reached again (steps nested in a `step.do`
   * that now returns its record).
   */
  #frontierSeq = -1;
  #seq = 0;
  #executing = 0;
  /** Waiting for {@link whenStepsDone}. */
  readonly #whenIdle: Array<() => void> = [];
  #waits: Array<number | null> = [];
  #checkScheduled = false;

  constructor(host: RunHost, workflow: string, id: string, epoch: number) {
    this.#host = host;
    this.workflow = workflow;
    this.id = id;
    this.epoch = epoch;
    let fail!: (error: Error) => void;
    this.fatal = new Promise<never>((_, reject) => (fail = reject));
    this.fatal.catch(() => {}); // the engine races it with `run`; a run never raced must not report it
    this.#failInstance = fail;
    this.live = this.#load() === 0;
  }

  /** Reads what earlier executions recorded (without results: those are read when their step is reached). */
  #load(): number {
    const rows = this.#host.store.all<Omit<StepRow, "result" | "error">>(
      "SELECT key, seq, kind, status, attempts, wake_at FROM steps WHERE workflow = ? AND instance = ?",
      this.workflow,
      this.id,
    );
    // Again after a revive: steps other executions recorded meanwhile are still to be reached.
    const known = new Set(this.#byKey.keys());
    this.#byKey.clear();
    for (const row of rows) {
      if (row.kind !== "do" && isSharedCounterKey(row.key)) this.#sharedCounterKeys = true;
      this.#byKey.set(row.key, row);
      this.#frontierSeq = Math.max(this.#frontierSeq, row.seq);
      if (!known.has(row.key)) this.#toReplay.add(row.key);
    }
    return rows.length;
  }

  readonly step: WorkflowStep = {
    do: <T>(
      name: string,
      configOrFn: WorkflowStepConfig | ((ctx: WorkflowStepContext) => Promise<T> | T),
      maybeFn?: ((ctx: WorkflowStepContext) => Promise<T> | T) | WorkflowStepRollbackOptions,
      rollbackOptions?: WorkflowStepRollbackOptions,
    ): Promise<T> => {
      // Refused rather than ignored: a workflow counting on its compensations must not run without them.
      if ((typeof configOrFn === "function" ? maybeFn : rollbackOptions) !== undefined) {
        return Promise.reject(new TypeError(`step.do("${name}"): rollback handlers are not supported by Hearth yet`));
      }
      const fn = typeof configOrFn === "function" ? configOrFn : maybeFn;
      const config = typeof configOrFn === "function" ? {} : (configOrFn ?? {});
      if (typeof fn !== "function") return Promise.reject(new TypeError(`step.do("${name}"): the last argument must be a function`));
      return this.#do(name, config, fn);
    },
    sleep: (name: string, duration: Duration) =>
      this.#sleep(name, () => dueTime(this.#host.clock.now() + parseDuration(duration, `step.sleep("${name}")`), `step.sleep("${name}")`)),
    sleepUntil: (name: string, timestamp: Date | number) =>
      this.#sleep(name, () => {
        const at = typeof timestamp === "number" ? timestamp : timestamp.getTime();
        if (!Number.isFinite(at)) throw new TypeError(`step.sleepUntil("${name}"): invalid date`);
        return dueTime(at, `step.sleepUntil("${name}")`);
      }),
    waitForEvent: <T>(name: string, options: { type: string; timeout?: Duration }) => this.#waitForEvent<T>(name, options),
  };

  async #do<T>(name: string, config: WorkflowStepConfig, fn: (ctx: WorkflowStepContext) => Promise<T> | T): Promise<T> {
    const retries = resolveRetries(name, config);
    const frozen = this.#frozen();
    const { key, seq, row, occurrence } = this.#enter(name, "do");
    if (frozen) return this.#wait(null);
    if (row?.status === "done") return deserializeClone(row.result!) as T;
    if (row?.status === "failed") throw fromStoredError(JSON.parse(row.error!));
    const now = this.#host.clock.now();
    if (row?.status === "retrying" && row.wake_at! > now) return this.#wait(row.wake_at);
    this.live = true;
    const attempt = (row?.attempts ?? 0) + 1;
    // Counted while the step's function runs: the run cannot leave memory in the middle of it.
    this.#executing++;
    let outcome: { bytes: Uint8Array } | { wakeAt: number } | { error: unknown } | { stale: true };
    try {
      const ctx: WorkflowStepContext = { step: { name, count: occurrence + 1 }, attempt, config: retries.shown };
      outcome = await this.#attempt(name, key, seq, fn, ctx, retries, now);
    } finally {
      this.#executing--;
      this.#scheduleCheck();
      this.#noticeIdle();
    }
    if ("stale" in outcome) return this.#wait(null);
    if ("error" in outcome) throw outcome.error;
    if ("wakeAt" in outcome) return this.#wait(outcome.wakeAt);
    return deserializeClone(outcome.bytes) as T;
  }

  /** One attempt of a step, recorded: done, failed for good, or retrying after a backoff. */
  async #attempt<T>(
    name: string,
    key: string,
    seq: number,
    fn: (ctx: WorkflowStepContext) => Promise<T> | T,
    ctx: WorkflowStepContext,
    retries: StepRetries,
    startedAt: number,
  ): Promise<{ bytes: Uint8Array } | { wakeAt: number } | { error: unknown } | { stale: true }> {
    const { attempt } = ctx;
    let value: T;
    try {
      const step = () => fn(ctx);
      const traced = () => traceFromParent(this.traceparent, `workflow step ${name}`, { attributes: { [HEARTH_WORKFLOW_INSTANCE]: this.id, [GEN_AI_WORKFLOW_NAME]: this.workflow } }, step);
      value = await withStepTimeout(Promise.resolve().then(tracingOn() ? traced : step), retries.timeout, name);
    } catch (error) {
      return this.#failedAttempt(name, key, seq, error, ctx, retries, startedAt);
    }
    let bytes: Uint8Array;
    try {
      bytes = serialize(value);
    } catch (error) {
      // Not a failed attempt: another one would repeat the step's side effects to return the same
      // kind of value. As on Cloudflare, the instance ends, whatever `run` catches.
      const reason = (error as Error).message;
      const failure = new NonRetryableError(`Value returned from step "${name}" is not serialisable (${reason})`, "WorkflowFatalError");
      const stale = await this.#record(key, seq, "do", "failed", { error: JSON.stringify(toStoredError(failure)), attempts: attempt, startedAt });
      if (!stale) {
        this.#failInstance(
          new NonRetryableError(
            `The execution of the Workflow instance was terminated, as the step "${name}" returned a value which is not serialisable (${reason})`,
            "WorkflowFatalError",
          ),
        );
      }
      return { stale: true };
    }
    if (bytes.byteLength > LIMITS.maxStepResultBytes) {
      const error = new NonRetryableError(
        `step.do("${name}") returned ${bytes.byteLength} bytes; the limit is ${LIMITS.maxStepResultBytes} (maxStepResultBytes)`,
        "RangeError",
      );
      return this.#failedAttempt(name, key, seq, error, ctx, retries, startedAt);
    }
    const stale = await this.#record(key, seq, "do", "done", { result: bytes, attempts: attempt, startedAt });
    return stale ? { stale } : { bytes };
  }

  /** The attempt threw: the step fails for good, or is retried after its backoff. */
  async #failedAttempt(
    name: string,
    key: string,
    seq: number,
    thrown: unknown,
    ctx: WorkflowStepContext,
    retries: StepRetries,
    startedAt: number,
  ): Promise<{ wakeAt: number } | { error: unknown } | { stale: true }> {
    const { attempt } = ctx;
    let error = thrown;
    let delay = 0;
    if (!(isNonRetryable(error)) && attempt <= retries.limit) {
      try {
        delay = await retryDelay(name, retries, ctx, error);
      } catch (failure) {
        error = new NonRetryableError(`step.do("${name}"): its retries.delay function failed (${(failure as Error).message}) after: ${(thrown as Error)?.message ?? String(thrown)}`);
      }
    }
    const stored = toStoredError(error);
    if (isNonRetryable(error) || attempt > retries.limit) {
      const stale = await this.#record(key, seq, "do", "failed", { error: JSON.stringify(stored), attempts: attempt, startedAt });
      // What every later execution will throw here (the error as stored), not the object itself: a
      // \`run\` that looks at more than its name and message would take another path after a replay.
      return stale ? { stale } : { error: fromStoredError(stored) };
    }
    const wakeAt = this.#host.clock.now() + backoff({ delay, backoff: retries.backoff }, attempt);
    const stale = await this.#record(key, seq, "do", "retrying", { attempts: attempt, wakeAt, error: JSON.stringify(stored), startedAt });
    return stale ? { stale } : { wakeAt };
  }

  async #sleep(name: string, wakeAtOf: () => number): Promise<void> {
    const frozen = this.#frozen();
    const { key, seq, row } = this.#enter(name, "sleep");
    if (frozen) return this.#wait(null);
    const now = this.#host.clock.now();
    if (row) {
      if (row.wake_at! <= now) return;
      return this.#wait(row.wake_at);
    }
    const wakeAt = wakeAtOf();
    this.live = true;
    if (await this.#record(key, seq, "sleep", "sleeping", { wakeAt })) return this.#wait(null);
    if (wakeAt <= this.#host.clock.now()) return;
    return this.#wait(wakeAt);
  }

  async #waitForEvent<T>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowStepEvent<T>> {
    if (typeof options?.type !== "string" || options.type.length === 0) {
      throw new TypeError(`step.waitForEvent("${name}"): options.type must be a non-empty string`);
    }
    const timeout = options.timeout === undefined ? EVENT_TIMEOUT_MS : parseDuration(options.timeout, `step.waitForEvent("${name}") timeout`);
    const frozen = this.#frozen();
    const { key, seq, row } = this.#enter(name, "event");
    if (frozen) return this.#wait(null);
    if (row?.status === "done") return deserializeClone(row.result!) as WorkflowStepEvent<T>;
    if (row?.status === "failed") throw fromStoredError(JSON.parse(row.error!));
    const { store, clock } = this.#host;
    const event = store.get<{ seq: number; type: string; payload: Uint8Array | null; at: number }>(
      "SELECT seq, type, payload, at FROM events WHERE workflow = ? AND instance = ? AND type = ? AND consumed = 0 ORDER BY seq LIMIT 1",
      this.workflow,
      this.id,
      options.type,
    );
    if (event) {
      const value: WorkflowStepEvent<T> = {
        payload: (event.payload === null ? undefined : deserializeClone(event.payload)) as T,
        timestamp: new Date(event.at),
        type: event.type,
      };
      this.live = true;
      if (await this.#record(key, seq, "event", "done", { result: serialize(value), consume: event.seq, awaits: options.type })) return this.#wait(null);
      return value;
    }
    const deadline = row?.wake_at ?? dueTime(clock.now() + timeout, `step.waitForEvent("${name}") timeout`);
    if (deadline <= clock.now()) {
      const error = new WorkflowTimeoutError(
        `step.waitForEvent("${name}") received no "${options.type}" event within ${formatDuration(timeout)}`,
      );
      if (await this.#record(key, seq, "event", "failed", { error: JSON.stringify(toStoredError(error)), awaits: options.type })) return this.#wait(null);
      throw error;
    }
    if (!row) {
      this.live = true;
      if (await this.#record(key, seq, "event", "waiting", { wakeAt: deadline, awaits: options.type })) return this.#wait(null);
    }
    return this.#wait(deadline);
  }

  /** Stopped by the engine, or out of memory for good: no new step may start in this execution. */
  #frozen(): boolean {
    if (this.stopped) return true;
    if (!this.suspended) return false;
    // It left memory while this branch awaited other work (I/O, a timer), whose end could not be
    // foreseen: it comes back, with what other executions recorded meanwhile.
    if (!this.#host.revive(this)) return true;
    this.suspended = false;
    this.#load();
    return false;
  }

  /** A step is called: its key (name + occurrence) finds what an earlier execution recorded for it. */
  #enter(name: string, kind: StepRow["kind"]): { key: string; seq: number; occurrence: number; row: StepRow | undefined } {
    if (typeof name !== "string" || name.length === 0 || name.length > LIMITS.maxStepNameLength) {
      throw new TypeError(`Step names are strings of 1-${LIMITS.maxStepNameLength} characters, got ${JSON.stringify(name)}`);
    }
    const occurrence = count(this.#occurrences, `${kind}:${name}`);
    const shared = count(this.#sharedOccurrences, name);
    const key = this.#sharedCounterKeys ? `${shared}:${name}` : stepKey(kind, occurrence, name);
    const seq = this.#seq++;
    if (seq >= LIMITS.maxStepsPerInstance) {
      throw new NonRetryableError(`This instance reached ${LIMITS.maxStepsPerInstance} steps (maxStepsPerInstance)`, "RangeError");
    }
    // Looked up by name and occurrence alone, as Cloudflare does: parallel branches call their steps in
    // whatever order their earlier ones ended, and steps run inside a recorded step are not called
    // again, so a new step while recorded ones were not called again is no sign of changed code. Only
    // another kind of step under a recorded key is: its record cannot answer it.
    const recorded = this.#byKey.get(key);
    // The last recorded step reached again: whatever follows (a sleep that ended, a progress report
    // after the step) runs for the first time.
    if (this.#toReplay.delete(key) && this.#toReplay.size === 0) this.live = true;
    if (recorded !== undefined) {
      if (recorded.seq >= this.#frontierSeq) this.live = true;
      // New steps number after every record reached, so that the frontier of a later execution is the last step.
      this.#seq = Math.max(this.#seq, recorded.seq + 1);
    }
    if (recorded === undefined) return { key, seq, occurrence, row: undefined };
    if (recorded.kind !== kind) {
      throw new WorkflowNondeterminismError(
        `${this.workflow} instance ${this.id}: ${describeKey(key)} is now a ${STEP_CALLS[kind]}, but this instance recorded a ${STEP_CALLS[recorded.kind]} there. ` +
          "The workflow's code changed under a running instance (or step names depend on something that is not replayed); " +
          "restart the instance or keep the old code for instances in flight.",
      );
    }
    const needsBody = recorded.status === "done" || recorded.status === "failed";
    const body = needsBody
      ? this.#host.store.get<{ result: Uint8Array | null; error: string | null }>(
          "SELECT result, error FROM steps WHERE workflow = ? AND instance = ? AND key = ?",
          this.workflow,
          this.id,
          key,
        )
      : undefined;
    return { key, seq, occurrence, row: { ...recorded, result: body?.result ?? null, error: body?.error ?? null } };
  }

  async #record(
    key: string,
    seq: number,
    kind: StepRow["kind"],
    status: StepRow["status"],
    fields: { result?: Uint8Array; error?: string; attempts?: number; wakeAt?: number; consume?: number; awaits?: string; startedAt?: number },
  ): Promise<boolean> {
    const { store } = this.#host;
    let stale = false;
    // A write on its way to disk counts as work in progress: the run must not leave memory under it.
    this.#executing++;
    try {
      await store.write(() => {
        // Only while this execution owns the instance: terminate and restart fence it off first.
        if (this.fenced) {
          stale = true;
          return;
        }
        // The step began at its first record (or, for a `do` step, when its first attempt began); it ends when done or failed.
        const now = this.#host.clock.now();
        store.run(
          `INSERT INTO steps (workflow, instance, key, seq, kind, status, result, error, attempts, wake_at, awaits, started_at, ended_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (workflow, instance, key) DO UPDATE SET status = excluded.status, result = excluded.result,
             error = excluded.error, attempts = excluded.attempts, wake_at = excluded.wake_at, awaits = excluded.awaits,
             started_at = coalesce(steps.started_at, excluded.started_at), ended_at = excluded.ended_at`,
          this.workflow,
          this.id,
          key,
          seq,
          kind,
          status,
          fields.result ?? null,
          fields.error ?? null,
          fields.attempts ?? 0,
          fields.wakeAt ?? null,
          fields.awaits ?? null,
          fields.startedAt ?? now,
          status === "done" || status === "failed" ? now : null,
        );
        if (fields.consume !== undefined) store.run("UPDATE events SET consumed = 1 WHERE seq = ?", fields.consume);
      });
    } finally {
      this.#executing--;
      this.#scheduleCheck();
      this.#noticeIdle();
    }
    if (stale) this.stopped = true;
    else {
      this.#byKey.set(key, { key, seq, kind, status, attempts: fields.attempts ?? 0, wake_at: fields.wakeAt ?? null });
    }
    return stale;
  }

  /** Settles once no step function of this execution runs and no record of it is being written. */
  whenStepsDone(): Promise<void> {
    if (this.#executing === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#whenIdle.push(resolve));
  }

  #noticeIdle(): void {
    if (this.#executing > 0 || this.#whenIdle.length === 0) return;
    for (const resolve of this.#whenIdle.splice(0)) resolve();
  }

  /** This branch waits for `at` (or, with null, for an event or a resume): it never settles here. */
  #wait(at: number | null): Promise<never> {
    this.#waits.push(at);
    this.#scheduleCheck();
    return parked();
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled || this.suspended) return;
    this.#checkScheduled = true;
    // After a full turn: a step that just finished lets the workflow continue into its next step first.
    setImmediate(() => {
      this.#checkScheduled = false;
      if (this.suspended || this.#executing > 0 || this.#waits.length === 0) return;
      this.suspended = true;
      const times = this.#waits.filter((at): at is number => at !== null);
      this.#host.suspend(this, times.length === 0 ? null : Math.min(...times));
    });
  }
}

const STEP_CALLS: Record<StepRow["kind"], string> = { do: "step.do", sleep: "step.sleep", event: "step.waitForEvent" };

/** Counts one more call under `counter`; returns the calls before it. */
function count(counters: Map<string, number>, counter: string): number {
  const occurrence = counters.get(counter) ?? 0;
  counters.set(counter, occurrence + 1);
  return occurrence;
}

/** Marks the occurrence part of sleep and waitForEvent keys; `do` keys are unmarked, as they always were. */
const KEY_MARKS: Record<StepRow["kind"], string> = { do: "", sleep: "s", event: "e" };

/**
 * The key a step is recorded under: its kind's mark, its occurrence among the calls of that kind
 * with that name (0 first), and the name after the first colon (which the inspector shows).
 */
export function stepKey(kind: StepRow["kind"], occurrence: number, name: string): string {
  return `${KEY_MARKS[kind]}${occurrence}:${name}`;
}

/** A key of the releases with one occurrence counter per name: no kind mark. */
function isSharedCounterKey(key: string): boolean {
  return /^\d/.test(key);
}

function describeKey(key: string): string {
  const colon = key.indexOf(":");
  const occurrence = Number(key.slice(0, colon).replace(/^[se]/, ""));
  const name = JSON.stringify(key.slice(colon + 1));
  return occurrence === 0 ? name : `${name} (occurrence ${occurrence + 1})`;
}
