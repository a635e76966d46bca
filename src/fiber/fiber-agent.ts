import { AGENT_OPTIONS, AGENT_RUNTIME, HANDLE, REPORT_ERROR } from "../agent/agent-base.ts";
import { McpClientAgent } from "../mcp/client/mcp-client-agent.ts";
import type { AgentTasks } from "../schedule/agent-tasks.ts";
import { AgentFibers } from "./agent-fibers.ts";
import { recoverFeatureFiber, RUN_FEATURE_FIBER } from "./feature-recovery.ts";
import { FIBERS_TABLE } from "./fiber-store.ts";
import type {
  DeleteFibersOptions,
  FiberContext,
  FiberInspection,
  FiberRecoveryContext,
  FiberRecoveryResult,
  ListFibersOptions,
  StartFiberOptions,
  StartFiberResult,
} from "./types.ts";

/**
 * Fibers a layer above runs for itself (a chat agent's turns) are offered to it before
 * `onFiberRecovered`; it resolves to true for those it recovered, which the hook then never sees.
 */
export const RECOVER_OWN_FIBER: unique symbol = Symbol("hearth.recoverOwnFiber");

/**
 * The fiber layer of {@link Agent}: durable execution recorded in the agent's database, recovered at
 * start-up (before onStart) through {@link onFiberRecovered}, with the host's due index waking the
 * agent after a crash.
 */
export class FiberAgent<Env = unknown, State = unknown> extends McpClientAgent<Env, State> {
  #fibers: AgentFibers | undefined;

  /**
   * Runs `fn` as a durable fiber: recorded in this agent's database before it starts, kept in memory
   * while it runs, forgotten when it ends. If the process ends first (crash, kill, restart), the host
   * wakes the agent by itself and {@link onFiberRecovered} gets the fiber's name and last `stash()`.
   * The record joins the calling event's transaction and `fn` starts once it is committed (at the
   * latest at the end of the event-loop turn); if the event (or the `transactionSync` block) fails
   * before that, `fn` never runs and the promise rejects. Failures also reach `onError`, so
   * `void this.runFiber(…)` is safe.
   * @example
   * void this.runFiber("research", async (ctx) => {
   *   const sources = await search(topic, { signal: ctx.signal });
   *   ctx.stash({ sources });
   *   this.setState({ ...this.state, report: await summarise(sources) });
   * });
   */
  runFiber<T>(name: string, fn: (ctx: FiberContext) => Promise<T>): Promise<T> {
    return this.#fiberApi.run(name, fn);
  }

  /** @internal A built-in feature's fiber (see {@link RUN_FEATURE_FIBER}). */
  [RUN_FEATURE_FIBER]<T>(name: string, fn: (ctx: FiberContext) => Promise<T>): Promise<T> {
    return this.#fiberApi.run(name, fn, true);
  }

  /**
   * Durably accepts background work and returns once the record is committed (or, with
   * `waitForCompletion`, once it settled); the commit takes along what the event wrote before it.
   * The record is kept after it ends; a second call with the same `idempotencyKey` or `fiberId`
   * joins the first (`accepted: false`).
   * @example
   * const receipt = await this.startFiber("reply", (ctx) => postReply(thread, { signal: ctx.signal }), {
   *   idempotencyKey: `webhook:${deliveryId}`,
   * });
   */
  startFiber(name: string, fn: (ctx: FiberContext) => Promise<void>, options?: StartFiberOptions): Promise<StartFiberResult> {
    // Not async: the promise handed back is the one whose failures already reach onError.
    return this.#fiberApi.start(name, fn, options);
  }

  /** A `startFiber` fiber by id, or null. @example const fiber = await this.inspectFiber(receipt.fiberId); */
  async inspectFiber(fiberId: string): Promise<FiberInspection | null> {
    return this.#fiberApi.inspect(fiberId);
  }

  /** A `startFiber` fiber by idempotency key, or null. @example await this.inspectFiberByKey(`webhook:${id}`); */
  async inspectFiberByKey(idempotencyKey: string): Promise<FiberInspection | null> {
    return this.#fiberApi.inspectByKey(idempotencyKey);
  }

  /** `startFiber` fibers, newest first. @example await this.listFibers({ status: "interrupted" }); */
  async listFibers(options?: ListFibersOptions): Promise<FiberInspection[]> {
    return this.#fiberApi.list(options);
  }

  /**
   * Cancels a `startFiber` fiber that has not settled: it is recorded as aborted and its `ctx.signal`
   * aborts (cooperative: the function stops when it looks). False if unknown or settled.
   * @example await this.cancelFiber(fiberId, "superseded");
   */
  async cancelFiber(fiberId: string, reason?: string): Promise<boolean> {
    return this.#fiberApi.cancel(fiberId, reason);
  }

  /** {@link cancelFiber} by idempotency key. @example await this.cancelFiberByKey(`webhook:${id}`); */
  async cancelFiberByKey(idempotencyKey: string, reason?: string): Promise<boolean> {
    return this.#fiberApi.cancelByKey(idempotencyKey, reason);
  }

  /**
   * Deletes settled `startFiber` records (default: completed, error, aborted); returns how many.
   * @example await this.deleteFibers({ settledBefore: new Date(Date.now() - 7 * 86_400_000) });
   */
  async deleteFibers(options?: DeleteFibersOptions): Promise<number> {
    return this.#fiberApi.delete(options);
  }

  /**
   * Settles an interrupted `startFiber` fiber after recovering it yourself; false unless interrupted.
   * @example await this.resolveFiber(fiberId, { status: "completed" });
   */
  async resolveFiber(fiberId: string, result: FiberRecoveryResult): Promise<boolean> {
    return this.#fiberApi.resolve(fiberId, result);
  }

  /**
   * Replaces the checkpoint of the fiber running this code (like `ctx.stash`); durable when it
   * returns: it commits the open transaction, with whatever the running events wrote so far (while
   * another event's `ctx.storage.transaction()` closure is open, as soon as it ends). Throws outside
   * a fiber of this agent, and inside `ctx.storage.transactionSync` (a commit would end the block).
   * @example this.stash({ done: steps.slice(0, i) });
   */
  stash(data: unknown): void {
    this.#fiberApi.stash(data);
  }

  /**
   * Called at start-up, before onStart and any other event, for each fiber whose process ended while
   * it ran, with its name and last checkpoint. Resume by starting a new fiber; for a `startFiber`
   * fiber, return how it ended. A throw is retried with a backoff (1 s doubling, at most 5 min) until
   * the fiber is older than `static options.fiberRecoveryMaxAgeMs` (24 h). Start-up waits for hooks at
   * most `fiberRecoveryScanDeadlineMs` (10 s); the rest is recovered later. Default: a warning.
   * @example
   * async onFiberRecovered(ctx: FiberRecoveryContext) {
   *   if (ctx.name === "research") void this.runFiber("research", (f) => this.research(ctx.snapshot, f));
   * }
   */
  onFiberRecovered(ctx: FiberRecoveryContext): Promise<void | FiberRecoveryResult> {
    console.warn(`[hearth] ${this[AGENT_RUNTIME].className}/${this.name}: fiber "${ctx.name}" (${ctx.id}) was interrupted; override onFiberRecovered to resume it`);
    return Promise.resolve();
  }

  /** A layer above claims the fibers it started itself (see {@link RECOVER_OWN_FIBER}); here, a feature's. */
  [RECOVER_OWN_FIBER](ctx: FiberRecoveryContext): Promise<boolean> {
    return recoverFeatureFiber(this, ctx);
  }

  /** Its fibers go with its storage. */
  override async destroy(): Promise<void> {
    this.#fibers?.destroying();
    await super.destroy();
  }

  get #fiberApi(): AgentFibers {
    this.#fibers ??= new AgentFibers(
      this[AGENT_RUNTIME],
      {
        recovered: (ctx) => this[HANDLE.scoped](async () => ((await this[RECOVER_OWN_FIBER](ctx)) ? undefined : this.onFiberRecovered(ctx))),
        report: (error) => this[REPORT_ERROR](error),
        agent: this,
      },
      this[AGENT_OPTIONS],
    );
    return this.#fibers;
  }

  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#fibers?.invalidate();
  }

  override [HANDLE.unload](): void {
    super[HANDLE.unload]();
    this.#fibers?.leave();
  }

  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    // Fibers the last process left running go to onFiberRecovered first: the Agents SDK's order
    // (recovery, then onStart, then traffic). An agent that never ran a fiber has no table and
    // nothing to recover: its fiber machinery starts on first use (the one schema read serves the
    // other capabilities' checks too).
    if (this.#fibers !== undefined || this[AGENT_RUNTIME].db.hasTable(FIBERS_TABLE)) await this.#fiberApi.recover();
    await super[HANDLE.start](props);
  }

  override [HANDLE.tasks](): AgentTasks {
    this.#fibers?.heartbeat(); // a wake from the host's due index: keep it coming while fibers run
    return super[HANDLE.tasks]();
  }
}
