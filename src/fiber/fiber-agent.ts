import { AGENT_RUNTIME, HANDLE, REPORT_ERROR } from "../agent/agent-base.ts";
import { McpClientAgent } from "../mcp/client/mcp-client-agent.ts";
import type { AgentTasks } from "../schedule/agent-tasks.ts";
import { AgentFibers } from "./agent-fibers.ts";
import { keepAliveIntervalOf } from "./limits.ts";
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
 * The fiber layer of {@link Agent}: durable execution recorded in the agent's database, recovered at
 * start-up through {@link onFiberRecovered}, with the host's due index waking the agent after a crash.
 */
export class FiberAgent<Env = unknown, State = unknown> extends McpClientAgent<Env, State> {
  #fibers: AgentFibers | undefined;

  /**
   * Runs `fn` as a durable fiber: recorded in this agent's database before it starts, kept in memory
   * while it runs, forgotten when it ends. If the process ends first (crash, kill, restart), the host
   * wakes the agent by itself and {@link onFiberRecovered} gets the fiber's name and last `stash()`.
   * Failures also reach `onError`, so `void this.runFiber(…)` is safe.
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

  /**
   * Durably accepts background work and returns at once (or, with `waitForCompletion`, once it
   * settled). The record is kept after it ends; a second call with the same `idempotencyKey` or
   * `fiberId` joins the first (`accepted: false`).
   * @example
   * const receipt = await this.startFiber("reply", (ctx) => postReply(thread, { signal: ctx.signal }), {
   *   idempotencyKey: `webhook:${deliveryId}`,
   * });
   */
  async startFiber(name: string, fn: (ctx: FiberContext) => Promise<void>, options?: StartFiberOptions): Promise<StartFiberResult> {
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
   * returns. Throws outside a fiber.
   * @example this.stash({ done: steps.slice(0, i) });
   */
  stash(data: unknown): void {
    this.#fiberApi.stash(data);
  }

  /**
   * Called at start-up, before any other event, for each fiber whose process ended while it ran, with
   * its name and last checkpoint. Resume by starting a new fiber; for a `startFiber` fiber, return how
   * it ended. A throw is retried at a later start (at most fiberRecoveryAttempts). Default: a warning.
   * @example
   * async onFiberRecovered(ctx: FiberRecoveryContext) {
   *   if (ctx.name === "research") void this.runFiber("research", (f) => this.research(ctx.snapshot, f));
   * }
   */
  onFiberRecovered(ctx: FiberRecoveryContext): Promise<void | FiberRecoveryResult> {
    console.warn(`[hearth] ${this[AGENT_RUNTIME].className}/${this.name}: fiber "${ctx.name}" (${ctx.id}) was interrupted; override onFiberRecovered to resume it`);
    return Promise.resolve();
  }

  /** Its fibers go with its storage. */
  override async destroy(): Promise<void> {
    this.#fibers?.destroying();
    await super.destroy();
  }

  get #fiberApi(): AgentFibers {
    this.#fibers ??= new AgentFibers(this[AGENT_RUNTIME], this, (error) => this[REPORT_ERROR](error), keepAliveIntervalOf(this.constructor));
    return this.#fibers;
  }

  override [HANDLE.unload](): void {
    super[HANDLE.unload]();
    this.#fibers?.leave();
  }

  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    await super[HANDLE.start](props);
    // Fibers the last process left running go to onFiberRecovered, before any other event.
    await this.#fiberApi.recover();
  }

  override [HANDLE.tasks](): AgentTasks {
    this.#fibers?.heartbeat(); // a wake from the host's due index: keep it coming while fibers run
    return super[HANDLE.tasks]();
  }
}
