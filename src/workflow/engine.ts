import { serialize } from "node:v8";
import { deserializeClone } from "../web/structured-clone.ts";
import type { Agent } from "../platform/agent.ts";
import { LIMITS } from "../limits.ts";
import type { Clock } from "../time/clock.ts";
import { EXTEND_STEP, type WorkflowClass, type WorkflowContext, type WorkflowEntrypoint, type WorkflowRuntime } from "./entrypoint.ts";
import { insertInstance, prepareInstances } from "./create-options.ts";
import { toStoredError, WorkflowStateError } from "./errors.ts";
import { peekInstance, statusOfRow } from "./instance-status.ts";
import { InstanceRemoval } from "./removal.ts";
import { WorkflowRun, type RunHost } from "./run.ts";
import { createRuntime, reportEnd, workflowContext } from "./runtime.ts";
import { prepareEvent, storeEvent } from "./events.ts";
import { queueUnbound, warnUnbound } from "./unbound.ts";
import type { WorkflowCallbackBody } from "./agent-types.ts";
import type { InstanceRow, WorkflowStore } from "./store.ts";
import type { InstanceStatus, WorkflowInstanceCreateOptions, WorkflowInstanceRestartOptions, WorkflowInstanceStatus, WorkflowInstanceTerminateOptions } from "./types.ts";
import { resetForRestart, restartSeq } from "./restart-from.ts";
import { currentTraceparent } from "../observability/traces/hooks.ts";
import { runOutsideEvents } from "../agent/context.ts";
import type { EngineHost, WorkflowOrigin } from "./engine-host.ts";

export type { EngineHost, WorkflowOrigin } from "./engine-host.ts";

interface Running {
  run: WorkflowRun;
  /** What the workflow object of this execution was given; it remembers explicit reports. */
  runtime?: WorkflowRuntime;
  /** Something happened while it ran (an event, a timer): replay once it leaves memory. */
  rerun: boolean;
  /** Marks this execution as over (finished, suspended or stopped), for `idle()`. */
  settle: () => void;
  /** Settles once the instance is durably marked running. */
  durable: Promise<"started" | "later">;
}

const FINAL = new Set<WorkflowInstanceStatus>(["complete", "errored", "terminated"]);

/**
 * Runs the host's workflow instances: creates them, replays them from their recorded steps, parks
 * them on durable timers when they sleep or wait, resumes every unfinished one at boot, and applies
 * pause / resume / terminate / restart / sendEvent.
 */
export class WorkflowEngine implements RunHost {
  readonly store: WorkflowStore;
  readonly #classes: ReadonlyMap<string, WorkflowClass>;
  readonly #host: EngineHost;
  readonly #running = new Map<string, Running>();
  /** Instances whose stopped execution still runs step functions: no new execution starts before they return. */
  readonly #finishing = new Map<string, Promise<void>>();
  /** Runs that left memory, while something still holds them (a branch awaiting other work). */
  readonly #outOfMemory = new WeakMap<WorkflowRun, Running>();
  /** Instances that could not start because maxRunningWorkflows were running. */
  readonly #backlog = new Set<string>();
  readonly #settled = new Set<Promise<unknown>>();
  readonly #removal: InstanceRemoval;
  #closed = false;

  constructor(store: WorkflowStore, classes: ReadonlyMap<string, WorkflowClass>, host: EngineHost) {
    this.store = store;
    this.#classes = classes;
    this.#host = host;
    this.#removal = new InstanceRemoval(store, host);
  }

  get clock(): Clock {
    return this.#host.clock;
  }

  /** Instances in memory right now. */
  get runningCount(): number {
    return this.#running.size;
  }

  /**
   * Resumes every instance that was queued or running when the process stopped; with
   * `includeWaiting` also the waiting ones (their timers were lost with the host's index file): each
   * replays and parks again on a fresh timer, and finished ones awaiting removal get theirs back.
   */
  boot({ includeWaiting = false } = {}): number {
    if (includeWaiting) this.#removal.rearm();
    const statuses = includeWaiting ? "'queued', 'running', 'waiting'" : "'queued', 'running'";
    const rows = this.store.all<{ workflow: string; id: string }>(
      `SELECT workflow, id FROM instances WHERE status IN (${statuses}) ORDER BY created_at`,
    );
    for (const row of rows) if (this.#classes.has(row.workflow)) void this.#start(row.workflow, row.id);
    warnUnbound(this.store, this.#classes);
    return rows.length;
  }

  async create(workflow: string, options: WorkflowInstanceCreateOptions = {}, origin?: WorkflowOrigin): Promise<string> {
    const [id] = await this.createBatch(workflow, [options], origin);
    return id!;
  }

  /** Creates instances in one transaction: all or none. */
  async createBatch(workflow: string, list: readonly WorkflowInstanceCreateOptions[], origin?: WorkflowOrigin): Promise<string[]> {
    this.#checkOpen();
    const now = this.#host.clock.now();
    const prepared = prepareInstances(workflow, list);
    // Instances that start at once are written as running (saves a write); the rest wait queued.
    let free = LIMITS.maxRunningWorkflows - this.#running.size;
    const traceparent = currentTraceparent() ?? null;
    await this.store.write(() => {
      for (const instance of prepared) {
        if (this.exists(workflow, instance.id)) throw new WorkflowStateError(`${workflow} instance ${instance.id} already exists`);
        insertInstance(this.store, workflow, instance, { status: free-- > 0 ? "running" : "queued", now, origin, traceparent });
      }
    });
    for (const { id } of prepared) void this.#start(workflow, id);
    return prepared.map((entry) => entry.id);
  }

  exists(workflow: string, id: string): boolean {
    return this.store.get("SELECT 1 AS x FROM instances WHERE workflow = ? AND id = ?", workflow, id) !== undefined;
  }

  status(workflow: string, id: string): InstanceStatus {
    const status = statusOfRow(this.#row(workflow, id));
    // Paused while its execution still runs (a step finishing to be recorded): as on Cloudflare.
    if (status.status === "paused" && this.#running.has(keyOf(workflow, id))) status.status = "waitingForPause";
    return status;
  }

  /** Status, error and time of the last change, without reading the output: for agents' tracking rows. */
  peek(workflow: string, id: string): ReturnType<typeof peekInstance> {
    return peekInstance(this.store, workflow, id);
  }

  async pause(workflow: string, id: string): Promise<void> {
    const row = this.#existing(workflow, id, "pause");
    if (row.status === "paused") throw new WorkflowStateError(`Cannot pause ${workflow} instance ${id}: it is already paused`);
    this.#refuseFinal(row, "pause");
    await this.#setStatus(workflow, id, "paused");
    this.#stopRun(workflow, id, false);
  }

  async resume(workflow: string, id: string): Promise<void> {
    const row = this.#existing(workflow, id, "resume");
    if (row.status !== "paused") throw new WorkflowStateError(`Cannot resume ${workflow} instance ${id}: it is ${row.status}, not paused`);
    await this.#setStatus(workflow, id, "queued");
    void this.#start(workflow, id);
  }

  async terminate(workflow: string, id: string, options: WorkflowInstanceTerminateOptions = {}): Promise<void> {
    if (options?.rollback) throw new WorkflowStateError("terminate({ rollback: true }): rollback handlers are not supported by Hearth yet");
    const row = this.#existing(workflow, id, "terminate");
    this.#refuseFinal(row, "terminate");
    this.#stopRun(workflow, id, true); // fenced before the write: nothing recorded after it
    const now = this.#host.clock.now();
    const expiresAt = this.#removal.arm(row, "terminated", now);
    await this.store.write(() => {
      this.store.run("UPDATE instances SET status = 'terminated', updated_at = ?, expires_at = ? WHERE workflow = ? AND id = ?", now, expiresAt, workflow, id);
    });
  }

  /**
   * Runs the instance again with the same params, from the start or from the recorded step `from`
   * names (the steps before it keep their results); the other recorded steps and pending events are discarded.
   */
  async restart(workflow: string, id: string, options: WorkflowInstanceRestartOptions = {}): Promise<void> {
    this.#existing(workflow, id, "restart");
    const fromSeq = options?.from === undefined ? 0 : restartSeq(this.store, workflow, id, options.from);
    this.#stopRun(workflow, id, true);
    await this.store.write(() => resetForRestart(this.store, workflow, id, fromSeq, this.#host.clock.now()));
    void this.#start(workflow, id); // once the old execution's step functions returned (#stopRun)
  }

  async sendEvent(workflow: string, id: string, event: { type: string; payload?: unknown }): Promise<void> {
    const row = this.#existing(workflow, id, "sendEvent");
    const prepared = prepareEvent(event);
    if (FINAL.has(row.status)) throw new WorkflowStateError(`Cannot send an event to ${workflow} instance ${id}: it is ${row.status}`);
    await this.store.write(() => storeEvent(this.store, workflow, id, prepared, this.#host.clock.now()));
    if (row.status !== "paused") void this.#start(workflow, id);
  }

  /**
   * A durable timer of the instance fired. Resolves with the time the timer must be kept for (when
   * the instance could not start yet), or null once the instance is durably running (or queued, its
   * class unbound) — only then may the timer go, or a crash in between would leave it waiting with
   * nothing to wake it. For a finished instance the timer is its removal (`retention`).
   */
  async wake(workflow: string, id: string): Promise<number | null> {
    const row = this.store.get<{ status: WorkflowInstanceStatus; expires_at: number | null }>(
      "SELECT status, expires_at FROM instances WHERE workflow = ? AND id = ?",
      workflow,
      id,
    );
    if (row && FINAL.has(row.status)) return row.expires_at === null ? null : this.#removal.due(workflow, id);
    const outcome = await this.#start(workflow, id);
    return outcome === "later" ? this.#host.clock.now() + 1000 : null;
  }

  /** Resolves when no instance is executing (they finished or wait on timers/events). */
  async idle(): Promise<void> {
    while (this.#settled.size > 0) await Promise.allSettled([...this.#settled]);
  }

  close(): void {
    this.#closed = true;
    this.#removal.close();
    for (const entry of this.#running.values()) {
      entry.run.stopped = true;
      entry.run.fenced = true;
    }
    this.#running.clear();
    this.store.close();
  }

  // RunHost

  suspend(run: WorkflowRun, at: number | null): void {
    const key = keyOf(run.workflow, run.id);
    const entry = this.#running.get(key);
    if (entry?.run !== run) return;
    this.#running.delete(key);
    this.#outOfMemory.set(run, entry);
    entry.settle();
    if (this.#closed) return;
    // The timer first: once it is committed, the instance cannot be forgotten.
    if (at !== null) this.#host.wakeAt(run.workflow, run.id, at);
    this.#track(
      this.store
        .write(() => {
          this.store.run(
            "UPDATE instances SET status = 'waiting', updated_at = ? WHERE workflow = ? AND id = ? AND epoch = ? AND status = 'running'",
            this.#host.clock.now(),
            run.workflow,
            run.id,
            run.epoch,
          );
        })
        .catch((error: unknown) => console.error(`[hearth] ${run.workflow}/${run.id}: could not record the wait:`, error)),
    );
    if (entry.rerun) void this.#start(run.workflow, run.id);
    this.#drainBacklog();
  }

  /**
   * A branch of a run that left memory reaches a step after other work (I/O, a timer of its own):
   * the run comes back and goes on, unless the instance moved on (paused, ended, restarted) or another
   * execution holds it, which replays that work itself. Not held to maxRunningWorkflows: the run was
   * in memory all along, under the work it awaited.
   */
  revive(run: WorkflowRun): boolean {
    const key = keyOf(run.workflow, run.id);
    const entry = this.#outOfMemory.get(run);
    if (!entry || this.#closed || run.fenced || this.#running.has(key)) return false;
    const row = this.store.get<{ status: string; epoch: number }>("SELECT status, epoch FROM instances WHERE workflow = ? AND id = ?", run.workflow, run.id);
    if (row?.epoch !== run.epoch || (row.status !== "waiting" && row.status !== "running")) return false;
    this.#outOfMemory.delete(run);
    entry.rerun = false;
    this.#running.set(key, entry);
    this.#track(new Promise<void>((resolve) => (entry.settle = resolve)));
    entry.durable = this.#markRunning(run);
    return true;
  }

  // Internals

  /**
   * Starts an execution of the instance (or marks the running one for a replay). Resolves with
   * `"started"` once the instance is durably `running` — from then on a crash is recovered by the
   * boot scan, so its timer may go — or `queued` for a class not bound here (the boot scan of a host
   * that binds it starts it), or `"later"` when it must wait for a free slot.
   */
  #start(workflow: string, id: string): Promise<"started" | "later"> {
    if (this.#closed) return Promise.resolve("later");
    const key = keyOf(workflow, id);
    const finishing = this.#finishing.get(key);
    if (finishing !== undefined) return finishing.then(() => this.#start(workflow, id));
    const current = this.#running.get(key);
    if (current) {
      current.rerun = true;
      return current.durable;
    }
    if (this.#running.size >= LIMITS.maxRunningWorkflows) {
      this.#backlog.add(key);
      return Promise.resolve("later");
    }
    const row = this.#row(workflow, id);
    const ctor = this.#classes.get(workflow);
    if (!row || !["queued", "running", "waiting"].includes(row.status)) return Promise.resolve("started");
    if (!ctor) return queueUnbound(this.store, this.#host.clock, row);
    const run = new WorkflowRun(this, workflow, id, row.epoch);
    run.traceparent = row.traceparent ?? undefined;
    let settle!: () => void;
    this.#track(new Promise<void>((resolve) => (settle = resolve)));
    const entry: Running = { run, rerun: false, settle, durable: Promise.resolve("started") };
    this.#running.set(key, entry);
    if (row.status !== "running") entry.durable = this.#markRunning(run);
    const event = {
      // As on Cloudflare: an instance created without params gets {}.
      payload: (row.params === null ? {} : deserializeClone(row.params)) as never,
      timestamp: new Date(row.created_at),
      instanceId: id,
      workflowName: workflow,
    };
    // Outside the event that started or woke it (an agent's RPC, another instance's end): the run is
    // no agent's, and must not log as one or have its calls attributed to one.
    runOutsideEvents(() => {
      void Promise.resolve()
        .then(() => {
          const workflow = this.#instantiate(ctor, row, run, entry);
          return Promise.race([run.fatal, workflow.run(event, workflow[EXTEND_STEP](run.step))]);
        })
        .then(
          (output) => this.#finish(entry, row, output),
          (error: unknown) => this.#fail(entry, row, error),
        )
        .catch((error: unknown) => console.error(`[hearth] ${workflow}/${id}:`, error))
        .finally(() => {
          if (run.stopped || this.#running.get(key) !== entry) entry.settle();
        });
    });
    return entry.durable;
  }

  /** Resolves with `"started"` once the instance is durably `running`. */
  #markRunning(run: WorkflowRun): Promise<"started" | "later"> {
    const write = this.store.write(() => {
      this.store.run(
        "UPDATE instances SET status = 'running', updated_at = ? WHERE workflow = ? AND id = ? AND epoch = ?",
        this.#host.clock.now(),
        run.workflow,
        run.id,
        run.epoch,
      );
    });
    return write.then(
      () => "started" as const,
      (error: unknown) => {
        console.error(`[hearth] ${run.workflow}/${run.id}: could not record the start:`, error);
        return "later" as const;
      },
    );
  }

  #instantiate(ctor: WorkflowClass, row: InstanceRow, run: WorkflowRun, entry: Running): WorkflowEntrypoint<unknown, unknown, Agent> {
    entry.runtime = createRuntime(row, run, this.#host);
    // waitUntil's work is tracked like an execution: idle() waits for it.
    const ctx = workflowContext(row, entry.runtime, (promise) => this.#track(promise));
    const Concrete = ctor as unknown as new (ctx: WorkflowContext, env: unknown) => WorkflowEntrypoint<unknown, unknown, Agent>;
    return new Concrete(ctx, this.#host.env);
  }

  /** `run` returned: the instance is complete (unless it left memory or was stopped meanwhile). */
  async #finish(entry: Running, row: InstanceRow, output: unknown): Promise<void> {
    const { run } = entry;
    if (this.#ended(run)) return;
    let bytes: Uint8Array | null;
    try {
      bytes = output === undefined ? null : serialize(output);
    } catch (error) {
      return this.#fail(entry, row, new TypeError(`The output of ${row.workflow} cannot be stored: ${(error as Error).message}`));
    }
    if (bytes && bytes.byteLength > LIMITS.maxStepResultBytes) {
      return this.#fail(entry, row, new RangeError(`The output is ${bytes.byteLength} bytes; the limit is ${LIMITS.maxStepResultBytes} (maxStepResultBytes)`));
    }
    // Once per instance: not when the workflow already reported its completion (step.reportComplete).
    await this.#end(entry, row, "complete", { output: bytes }, entry.runtime?.reported.complete ? undefined : { type: "complete", result: output });
  }

  async #fail(entry: Running, row: InstanceRow, error: unknown): Promise<void> {
    const { run } = entry;
    if (this.#ended(run)) return;
    const stored = toStoredError(error);
    await this.#end(entry, row, "errored", { error: JSON.stringify(stored) }, entry.runtime?.reported.error ? undefined : { type: "error", error: stored.message });
  }

  /**
   * Whether this execution may not record its end: it left memory, or was stopped. A pause during the
   * last step stops a run that then ends rather than parks at a next step: it is let go as a park is
   * (a resume then runs the instance again, its steps replayed), or it would hold its place forever.
   */
  #ended(run: WorkflowRun): boolean {
    if (run.suspended) {
      // It left memory while this branch awaited other work (a fetch) beside a waiting one: the end
      // brings it back to be recorded, as a step called then would (unless the instance moved on).
      if (run.stopped || !this.revive(run)) return true;
      run.suspended = false;
    }
    if (!run.stopped) return false;
    if (!run.fenced) {
      run.suspended = true;
      this.suspend(run, null);
    }
    return true;
  }

  /** Records the end; then, if this execution ended the instance, `report` goes to the starting agent. */
  async #end(
    entry: Running,
    row: InstanceRow,
    status: "complete" | "errored",
    fields: { output?: Uint8Array | null; error?: string },
    report: WorkflowCallbackBody | undefined,
  ): Promise<void> {
    const { run } = entry;
    run.suspended = true; // nothing more runs in this execution
    let changed = 0;
    const now = this.#host.clock.now();
    const expiresAt = this.#removal.arm(row, status, now);
    // A record due for removal stays until the agent has heard of the end (its tracking row reads it).
    const release = expiresAt !== null && row.agent_class ? this.#removal.hold(run.workflow, run.id) : undefined;
    let told: Promise<unknown> = Promise.resolve();
    try {
      await this.store.write(() => {
        changed = this.store.run(
          `UPDATE instances SET status = ?, output = ?, error = ?, updated_at = ?, expires_at = ?
           WHERE workflow = ? AND id = ? AND epoch = ? AND status NOT IN ('terminated', 'complete', 'errored')`,
          status,
          fields.output ?? null,
          fields.error ?? null,
          now,
          expiresAt,
          run.workflow,
          run.id,
          run.epoch,
        );
      });
    } finally {
      const key = keyOf(run.workflow, run.id);
      if (this.#running.get(key) === entry) this.#running.delete(key);
      // Tracked before this execution settles, so idle() also waits for the agent's hook.
      if (changed > 0 && report) this.#track((told = reportEnd(row, this.#host, report)));
      release?.(told);
      entry.settle();
      this.#drainBacklog();
    }
  }

  #stopRun(workflow: string, id: string, forget: boolean): void {
    const key = keyOf(workflow, id);
    const entry = this.#running.get(key);
    if (!entry) return;
    entry.run.stopped = true;
    entry.rerun = false;
    if (forget) {
      entry.run.fenced = true;
      this.#running.delete(key);
      entry.settle();
      // No execution of the instance starts until this one's step functions have returned (their
      // results are dropped): a step running at a restart never runs twice at once (two card charges).
      const finishing = Promise.all([this.#finishing.get(key), entry.run.whenStepsDone()]).then(() => {
        if (this.#finishing.get(key) === finishing) this.#finishing.delete(key);
      });
      this.#finishing.set(key, finishing);
    }
  }

  async #setStatus(workflow: string, id: string, status: WorkflowInstanceStatus): Promise<void> {
    await this.store.write(() => {
      this.store.run("UPDATE instances SET status = ?, updated_at = ? WHERE workflow = ? AND id = ?", status, this.#host.clock.now(), workflow, id);
    });
  }

  #drainBacklog(): void {
    for (const key of this.#backlog) {
      if (this.#running.size >= LIMITS.maxRunningWorkflows) return;
      this.#backlog.delete(key);
      const [workflow, id] = key.split("\0") as [string, string];
      void this.#start(workflow, id);
    }
  }

  #row(workflow: string, id: string): InstanceRow | undefined {
    return this.store.get<InstanceRow>("SELECT * FROM instances WHERE workflow = ? AND id = ?", workflow, id);
  }

  #existing(workflow: string, id: string, action: string): InstanceRow {
    this.#checkOpen();
    const row = this.#row(workflow, id);
    if (!row) throw new WorkflowStateError(`Cannot ${action}: ${workflow} has no instance ${JSON.stringify(id)}`);
    return row;
  }

  #refuseFinal(row: InstanceRow, action: string): void {
    if (FINAL.has(row.status)) throw new WorkflowStateError(`Cannot ${action} ${row.workflow} instance ${row.id}: it is already ${row.status}`);
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("The host is closed");
  }

  #track(promise: Promise<unknown>): void {
    this.#settled.add(promise);
    void promise.finally(() => this.#settled.delete(promise));
  }
}

function keyOf(workflow: string, id: string): string {
  return `${workflow}\0${id}`;
}

