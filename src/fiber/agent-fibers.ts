import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { messageOf } from "../agent/rpc.ts";
import { inOpenTransaction } from "../storage/durable-transaction.ts";
import { FiberStore, type FiberRow } from "./fiber-store.ts";
import { currentFiber } from "./current-fiber.ts";
import type { FiberAgent, FiberHost, FiberOptions } from "./fiber-host.ts";
import { FiberNotStartedError } from "./errors.ts";
import { FIBER_LIMITS } from "./limits.ts";
import { FiberRecovery } from "./recovery.ts";
import type {
  DeleteFibersOptions,
  FiberContext,
  FiberInspection,
  FiberRecoveryResult,
  ListFibersOptions,
  StartFiberOptions,
  StartFiberResult,
} from "./types.ts";
import {
  checkFunction,
  checkId,
  checkLimit,
  checkName,
  checkStatuses,
  encodeJson,
  encodeMetadata,
  encodeResult,
  inspection,
  isSettled,
} from "./validate.ts";
import { emitAgentEvent } from "../events/index.ts";

interface Running {
  readonly name: string;
  readonly controller: AbortController;
  readonly managed: boolean;
  /** Releases the agent's keepAlive once the fiber ends. */
  readonly release: () => void;
  /** Set until the fiber's record is committed and its function may start: fails the start. */
  refuse: ((error: Error) => void) | undefined;
}

/**
 * Runs code outside any event (the context at module load): a read made during a rollback or a
 * commit must not open a savepoint for the event whose writes were just undone or committed.
 */
const outsideEvents = AsyncLocalStorage.snapshot();

/**
 * One agent's fibers: durable records of work in progress (`runFiber`, `startFiber`), their
 * checkpoints, and their recovery after the process that ran them ended.
 *
 * Durability comes from two records, each committed before the function starts: the fiber's row in
 * the agent's own database, and the host's due index, which wakes the agent by itself after a crash.
 * The row is written in the transaction of the event that starts the fiber, and the function starts
 * once that transaction commits (the output gate): if the event, or the `transactionSync` block, fails
 * first, the fiber never existed. A checkpoint and a fiber's end commit at once.
 * While fibers run, the agent's index entry stays at most `keepAliveIntervalMs` ahead: every wake
 * (see {@link heartbeat}) moves it on; after a crash the entry is in the past and the next process
 * wakes the agent at boot, whose start-up recovers the fiber.
 */
export class AgentFibers {
  readonly #host: FiberHost;
  readonly #store: FiberStore;
  readonly #report: (error: unknown) => void;
  /** The agent, whose `agents:fiber` events these are. */
  readonly #agent: object;
  readonly #intervalMs: number;
  readonly #recovery: FiberRecovery;
  /** Fibers whose function runs in this instance, by id. */
  readonly #running = new Map<string, Running>();
  /** Callers waiting for a startFiber fiber to settle, by id. */
  readonly #waiters = new Map<string, Set<() => void>>();
  /** The instance left memory: fibers still running here write nothing more (their rows are recovered). */
  #left = false;
  /** The agent was destroyed: nothing may bring it back. */
  #destroyed = false;

  constructor(host: FiberHost, agent: FiberAgent, options: FiberOptions) {
    this.#host = host;
    this.#store = new FiberStore(host.db);
    this.#report = (error) => agent.report(error);
    this.#agent = agent.agent ?? agent;
    this.#intervalMs = options.keepAliveIntervalMs;
    this.#recovery = new FiberRecovery({
      store: this.#store,
      now: () => host.clock.now(),
      isRunning: (id) => this.#running.has(id),
      hook: (ctx) => agent.recovered(ctx),
      report: this.#report,
      settled: (id) => this.#notify(id),
      changed: () => {
        if (!this.#left) this.#announce(false);
      },
      keepAlive: () => host.keepAlive(),
      active: () => !this.#left && !this.#destroyed,
      where: `${host.className}/${host.name}`,
      maxAgeMs: options.fiberRecoveryMaxAgeMs,
      deadlineMs: options.fiberRecoveryScanDeadlineMs,
      retryDelayMs: options.keepAliveIntervalMs,
      emit: (type, payload) => emitAgentEvent(this.#agent, type, payload),
    });
  }

  /** `runFiber`; `feature`: a built-in feature's fiber, whose name may use the reserved prefix. */
  run<T>(name: string, fn: (ctx: FiberContext) => Promise<T>, feature = false): Promise<T> {
    let execution: Promise<T>;
    try {
      checkName("runFiber", name, feature);
      checkFunction("runFiber", fn);
      const id = randomUUID();
      execution = this.#begin({ id, name, managed: false }).then(() => this.#execute(id, fn));
    } catch (error) {
      execution = Promise.reject(error as Error);
    }
    // Fire-and-forget fibers (`void this.runFiber(…)`) must not crash the process: failures also go to onError.
    execution.catch((error: unknown) => this.#failed(name, error));
    return execution;
  }

  start(name: string, fn: (ctx: FiberContext) => Promise<void>, options: StartFiberOptions = {}): Promise<StartFiberResult> {
    const accepted = this.#start(name, fn, options);
    // As with runFiber: `void this.startFiber(…)` in an event that then fails must not crash the process.
    accepted.catch((error: unknown) => this.#failed(name, error));
    return accepted;
  }

  async #start(name: string, fn: (ctx: FiberContext) => Promise<void>, options: StartFiberOptions): Promise<StartFiberResult> {
    checkName("startFiber", name);
    checkFunction("startFiber", fn);
    if (typeof options !== "object" || options === null) throw new TypeError("startFiber(): options must be an object");
    const { fiberId, idempotencyKey, metadata, waitForCompletion } = options;
    if (fiberId !== undefined) checkId("startFiber", "fiberId", fiberId);
    if (idempotencyKey !== undefined) checkId("startFiber", "idempotencyKey", idempotencyKey);
    const metadataJson = encodeMetadata("startFiber", metadata);
    const existing = this.#existing(fiberId, idempotencyKey);
    if (existing) {
      if (waitForCompletion && !isSettled(existing.status)) await this.#settled(existing.id);
      return { ...inspection(this.#store.get(existing.id) ?? existing), accepted: false };
    }
    const id = fiberId ?? randomUUID();
    await this.#begin({ id, name, managed: true, key: idempotencyKey ?? null, metadata: metadataJson });
    this.#execute(id, fn).catch((error: unknown) => this.#failed(name, error));
    if (waitForCompletion) await this.#settled(id);
    return { ...inspection(this.#row(id)), accepted: true };
  }

  /** `this.stash(data)`: the checkpoint of the fiber whose function is running this code. */
  stash(data: unknown): void {
    const fiber = currentFiber.getStore();
    if (fiber?.owner !== this) {
      throw new Error("stash() was called outside a fiber of this agent: call it from inside the function given to its runFiber or startFiber");
    }
    fiber.stash(data);
  }

  inspect(id: string): FiberInspection | null {
    checkId("inspectFiber", "fiberId", id);
    const row = this.#store.get(id);
    return row && row.managed ? inspection(row) : null;
  }

  inspectByKey(key: string): FiberInspection | null {
    checkId("inspectFiberByKey", "idempotencyKey", key);
    const row = this.#store.getByKey(key);
    return row ? inspection(row) : null;
  }

  list(options: ListFibersOptions = {}): FiberInspection[] {
    const statuses = checkStatuses("listFibers", options.status);
    if (options.name !== undefined && typeof options.name !== "string") throw new TypeError("listFibers(): name must be a string");
    const limit = checkLimit("listFibers", options.limit, 50, FIBER_LIMITS.maxListedFibers);
    return this.#store.list(statuses, options.name, limit).map(inspection);
  }

  cancel(id: string, reason?: string): boolean {
    checkId("cancelFiber", "fiberId", id);
    if (reason !== undefined && typeof reason !== "string") throw new TypeError("cancelFiber(): reason must be a string");
    const row = this.#store.get(id);
    if (!row || !row.managed || !this.#store.abort(id, reason ?? null, this.#host.clock.now())) return false;
    this.#running.get(id)?.controller.abort(reason);
    this.#notify(id);
    return true;
  }

  cancelByKey(key: string, reason?: string): boolean {
    checkId("cancelFiberByKey", "idempotencyKey", key);
    const row = this.#store.getByKey(key);
    return row ? this.cancel(row.id, reason) : false;
  }

  resolve(id: string, result: FiberRecoveryResult): boolean {
    checkId("resolveFiber", "fiberId", id);
    const stored = encodeResult("resolveFiber()", result);
    const row = this.#store.get(id);
    if (!row || !row.managed || row.status !== "interrupted") return false;
    this.#store.recovered(id, stored, this.#host.clock.now());
    this.#notify(id);
    return true;
  }

  delete(options: DeleteFibersOptions = {}): number {
    const statuses = checkStatuses("deleteFibers", options.status) ?? ["completed", "error", "aborted"];
    const before = options.settledBefore;
    if (before !== undefined && (!(before instanceof Date) || !Number.isFinite(before.getTime()))) {
      throw new TypeError("deleteFibers(): settledBefore must be a valid Date");
    }
    const limit = checkLimit("deleteFibers", options.limit, 100, FIBER_LIMITS.maxDeletedFibers);
    return this.#store.deleteSettled(statuses, before?.getTime(), limit);
  }

  /**
   * A recovery pass: at start-up (before onStart), and when the host wakes the live agent with
   * recoveries due. Every fiber recorded as running whose function is not running here was
   * interrupted (its process ended); each due one goes to onFiberRecovered, with its last checkpoint.
   */
  async recover(): Promise<void> {
    try {
      if (this.#left || !this.#store.exists) return;
      await this.#recovery.pass();
      if (!this.#left) this.#announce(false);
    } catch (error) {
      // The agent goes on anyway; what was not recovered is recovered at a later pass.
      this.#report(new Error(`Recovering fibers failed: ${messageOf(error)}`, { cause: error }));
    }
  }

  /**
   * The host woke the agent (its due index entry came due): keep the entries coming while fibers
   * run, and recover the fibers due for it, in an event of its own after this one.
   */
  heartbeat(): void {
    if (this.#left) return;
    this.#announce(false);
    if (!this.#store.exists || !this.#recovery.hasDue(this.#host.clock.now())) return;
    // Not from the hibernation sweep, which reads the tasks too and then closes the agent (left).
    queueMicrotask(() => {
      if (this.#left || this.#destroyed) return;
      this.#host.blockConcurrencyWhile(() => this.recover()).catch(this.#report);
    });
  }

  /**
   * A rollback (a failed event, a failed transactionSync block): the table may be gone with it, and
   * so may the records of fibers not started yet, which then never start.
   */
  invalidate(): void {
    this.#store.invalidate();
    for (const [id, running] of this.#running) {
      if (running.refuse === undefined || this.#left) continue;
      if (this.#recorded(id) === false) this.#refuse(id, running, "its record was rolled back with the event or transactionSync block that started it");
    }
  }

  /**
   * The agent leaves memory (hibernation, eviction, destroy, shutdown): fibers still running here are
   * recovered at its next start, at once, so their functions are told to stop (`ctx.signal` aborts):
   * one that went on would repeat what its recovery does.
   */
  leave(): void {
    if (this.#left) return;
    try {
      this.#announce(true);
    } finally {
      this.#left = true;
      for (const id of [...this.#waiters.keys()]) this.#notify(id);
      if (this.#running.size > 0) {
        const reason = new DOMException(
          `${this.#host.className}/${this.#host.name} left memory (shutdown, eviction or destroy); the fiber is recovered at the agent's next start`,
          "AbortError",
        );
        for (const running of this.#running.values()) running.controller.abort(reason);
      }
    }
  }

  /** The agent is being destroyed: its fibers go with its storage, and nothing may wake it again. */
  destroying(): void {
    this.#destroyed = true;
  }

  /**
   * Records the fiber in the current transaction; resolves once that is committed (the function may
   * start), rejects if the record was rolled back first or the agent left memory.
   */
  #begin(fiber: { id: string; name: string; managed: boolean; key?: string | null; metadata?: string | null }): Promise<void> {
    if (this.#left) throw new Error(`${this.#host.className}/${this.#host.name} has left memory; a fiber cannot start on it`);
    const storage = (this.#agent as { ctx?: { storage?: object } }).ctx?.storage;
    // It would start once its record commits, when the closure ends: awaited inside, the two wait for ever.
    if (storage !== undefined && inOpenTransaction(storage)) {
      throw new Error(`A fiber cannot start inside ctx.storage.transaction(): it starts once its record is committed, which is when the closure ends; start "${fiber.name}" after the closure`);
    }
    if (this.#running.size >= FIBER_LIMITS.maxRunningFibers) {
      throw new RangeError(
        `${this.#host.className}/${this.#host.name} already runs ${this.#running.size} fibers; at most ${FIBER_LIMITS.maxRunningFibers} run at once (maxRunningFibers)`,
      );
    }
    const now = this.#host.clock.now();
    const running: Running = {
      name: fiber.name,
      controller: new AbortController(),
      managed: fiber.managed,
      release: this.#host.keepAlive(),
      refuse: undefined,
    };
    this.#running.set(fiber.id, running);
    try {
      // The wake comes first, so the index is never later than the row it must lead back to.
      this.#announce(false);
      this.#store.insert({
        id: fiber.id,
        name: fiber.name,
        managed: fiber.managed ? 1 : 0,
        idempotency_key: fiber.key ?? null,
        status: "running",
        snapshot: null,
        metadata: fiber.metadata ?? null,
        created_at: now,
        started_at: now,
      });
    } catch (error) {
      this.#running.delete(fiber.id);
      running.release();
      throw error;
    }
    return new Promise<void>((resolve, reject) => {
      running.refuse = reject;
      this.#host.db.output(() => {
        if (running.refuse === undefined) return; // refused already
        if (this.#destroyed) this.#refuse(fiber.id, running, "the agent was destroyed");
        else if (this.#left) this.#refuse(fiber.id, running, "the agent left memory first; it is recovered at its next start");
        else if (this.#recorded(fiber.id) === false) this.#refuse(fiber.id, running, "its record was rolled back with the transactionSync block that started it");
        else {
          running.refuse = undefined;
          resolve();
        }
      });
    });
  }

  /** Whether the fiber's row exists, read outside any event; undefined when it cannot be read now. */
  #recorded(id: string): boolean | undefined {
    try {
      return outsideEvents(() => this.#store.get(id) !== undefined);
    } catch {
      return undefined; // the next commit (or the next start) decides
    }
  }

  /** The fiber will not start: it is forgotten here and its caller gets the reason. */
  #refuse(id: string, running: Running, why: string): void {
    const refuse = running.refuse;
    running.refuse = undefined;
    this.#running.delete(id);
    running.release();
    this.#notify(id);
    refuse?.(new FiberNotStartedError(running.name, why));
  }

  async #execute<T>(id: string, fn: (ctx: FiberContext) => Promise<T>): Promise<T> {
    const running = this.#running.get(id)!;
    const stash = (data: unknown) => this.#stash(id, data);
    const startedAt = Date.now();
    emitAgentEvent(this.#agent, "fiber:run:started", () => ({ fiberId: id, fiberName: running.name, managed: running.managed }));
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await currentFiber.run({ owner: this, id, stash }, () => fn({ id, signal: running.controller.signal, stash, snapshot: null })) };
    } catch (error) {
      outcome = { error };
    }
    try {
      // Still running (not recovered by a pass meanwhile) until its end is recorded.
      await this.#finish(id, running, "error" in outcome ? outcome : null);
    } finally {
      this.#running.delete(id);
      running.release();
    }
    const elapsedMs = Date.now() - startedAt;
    if ("error" in outcome) {
      const error = messageOf(outcome.error);
      emitAgentEvent(this.#agent, "fiber:run:failed", () => ({ fiberId: id, fiberName: running.name, managed: running.managed, error, elapsedMs }));
      throw outcome.error;
    }
    emitAgentEvent(this.#agent, "fiber:run:completed", () => ({ fiberId: id, fiberName: running.name, managed: running.managed, elapsedMs }));
    return outcome.value;
  }

  /**
   * Durable when it returns: the checkpoint commits at once (with what the transaction holds so far).
   * While another event's `ctx.storage.transaction()` closure is open nothing of the agent commits
   * (and this code's statements are refused): the checkpoint is then written and committed as soon
   * as that closure ends, before anything else runs.
   */
  #stash(id: string, data: unknown): void {
    if (!this.#running.has(id)) throw new Error(`stash(): fiber ${id} has ended; a checkpoint is written while its function runs`);
    if (this.#host.db.inTransactionSync) {
      throw new Error(
        "stash() cannot run inside ctx.storage.transactionSync(): a checkpoint commits at once, which would end the block's transaction; stash before or after the block",
      );
    }
    const json = encodeJson("stash(): the checkpoint", data);
    const later = this.#host.db.whenWritable(() => {
      this.#store.setSnapshot(id, json);
      this.#store.commit();
    });
    later?.catch((error: unknown) => this.#report(new Error(`Fiber ${id}: its checkpoint could not be written: ${messageOf(error)}`, { cause: error })));
  }

  /**
   * The function ended: a runFiber row goes, a startFiber row records how it ended. Committed at
   * once, or — while another event's `ctx.storage.transaction()` closure refuses this code's
   * statements — as soon as that closure ends. Never rejects.
   */
  async #finish(id: string, running: Running, failure: { error: unknown } | null): Promise<void> {
    if (this.#left) return; // this instance's storage is closed; the row is recovered at the next start
    const record = () => {
      // Committed at once: a fiber that ended must not be recovered, whatever the event that started it does next.
      if (!running.managed) this.#store.delete(id);
      else if (failure === null) this.#store.settleRunning(id, "completed", null, this.#host.clock.now());
      else this.#store.settleRunning(id, running.controller.signal.aborted ? "aborted" : "error", messageOf(failure.error), this.#host.clock.now());
      this.#store.commit();
    };
    try {
      await this.#host.db.whenWritable(record);
    } catch (error) {
      this.#report(new Error(`Fiber ${id} ended but could not be recorded as ended; it will be recovered at the next start: ${messageOf(error)}`, { cause: error }));
    } finally {
      this.#notify(id);
    }
  }

  #failed(name: unknown, error: unknown): void {
    if (this.#left) return;
    if (error instanceof FiberNotStartedError) this.#report(error);
    else this.#report(new Error(`Fiber ${JSON.stringify(String(name))} failed: ${messageOf(error)}`, { cause: error }));
  }

  #existing(fiberId: string | undefined, key: string | undefined): FiberRow | undefined {
    const byId = fiberId === undefined ? undefined : this.#store.get(fiberId);
    const byKey = key === undefined ? undefined : this.#store.getByKey(key);
    if (byKey && fiberId !== undefined && byKey.id !== fiberId) {
      throw new Error(`startFiber(): idempotencyKey ${JSON.stringify(key)} belongs to fiber ${byKey.id}, not ${fiberId}`);
    }
    if (byId && !byId.managed) throw new Error(`startFiber(): fiberId ${JSON.stringify(fiberId)} is a runFiber fiber's id`);
    return byId ?? byKey;
  }

  #row(id: string): FiberRow {
    const row = this.#store.get(id);
    if (!row) throw new Error(`Fiber ${id} no longer exists`);
    return row;
  }

  /** Resolves once the fiber has settled (or is not running here, so nothing will settle it here). */
  #settled(id: string): Promise<void> {
    const row = this.#store.get(id);
    if (!row || isSettled(row.status) || !this.#running.has(id) || this.#left) return Promise.resolve();
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(id);
      if (!waiters) this.#waiters.set(id, (waiters = new Set()));
      waiters.add(resolve);
    });
  }

  #notify(id: string): void {
    const waiters = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const resolve of waiters ?? []) resolve();
  }

  /**
   * Makes sure the host wakes this agent for its fibers: every interval while they run (so that a
   * crash is noticed), and when a failed recovery is due again. When the agent leaves memory with
   * fibers still running, at once: the next process recovers them at boot.
   */
  #announce(leaving: boolean): void {
    if (this.#destroyed) return;
    const now = this.#host.clock.now();
    let at: number | null = this.#running.size > 0 ? (leaving ? now : this.#nextHeartbeat(now)) : null;
    // Leaving, every recovery counts (a hook still running here is cut short); in memory, those
    // whose hook runs need no wake, and one already due is looked at again an interval later.
    const recovery = this.#store.nextRecovery(leaving ? undefined : this.#recovery.inFlight);
    if (recovery !== null) {
      const wake = leaving || recovery > now ? recovery : now + this.#intervalMs;
      at = at === null ? wake : Math.min(at, wake);
    }
    if (at !== null) this.#host.tasksChanged(at);
  }

  /**
   * One interval on; during a virtual clock's advance, not before its end (Clock.advancingTo): the
   * heartbeat only notices a crash, and a test advancing days would otherwise wake every interval.
   */
  #nextHeartbeat(now: number): number {
    return Math.max(now + this.#intervalMs, this.#host.clock.advancingTo ?? now);
  }
}
