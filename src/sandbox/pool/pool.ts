/**
 * The worker-pool engine: QuickJS sandboxes run on a pool of worker threads, so the host's event
 * loop never waits on sandbox CPU. Workers start lazily (one more only when every started one
 * already holds sandboxes), and an idle worker never keeps the process alive. A context lives on one
 * worker for its whole life (a warm sandbox keeps its worker); a new one goes to the least-loaded
 * worker. A worker that dies takes only its own sandboxes with it (their calls fail with an error
 * naming what happened); the next sandbox starts a fresh worker. A worker stopped because one call
 * was stuck where no limit is checked fails that call with its limit's error; its other sandboxes
 * that can be rebuilt as they were move to another worker (pool-context.ts).
 */
import type { EngineContext, EngineContextOptions, SandboxEngine } from "../engine.ts";
import { POOL_LIMITS, defaultPoolSize } from "./limits.ts";
import { PoolContext } from "./pool-context.ts";
import { PoolWorker } from "./pool-worker.ts";

export interface WorkerPoolOptions {
  /** Worker threads at most. Default `os.availableParallelism()`. */
  size?: number;
  /** Native stack of each worker thread, in MiB. Default 4. */
  stackSizeMb?: number;
  /** V8 heap cap of each worker thread, in MiB (sandbox heaps are WebAssembly memory, outside it). Default: Node's. */
  maxOldGenerationSizeMb?: number;
  /** How long past its call's wall-clock deadline a sandbox's sync call waits for the host's answer. Default 30,000 ms. */
  hostAnswerGraceMs?: number;
  /**
   * How far past its CPU budget or wall-clock deadline a call may run inside a native builtin, where
   * no limit is checked, before its worker is stopped. Default 1,000 ms.
   */
  stuckGraceMs?: number;
}

/** One worker of the pool as tests and benchmarks see it. */
export interface PoolWorkerInfo {
  threadId: number;
  sandboxes: number;
  callsInFlight: number;
}

function whole(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  return value;
}

/**
 * Sandboxes on a pool of worker threads.
 * @example
 * const engine = new WorkerPoolEngine({ size: 4 });
 * const sandbox = await Sandbox.create({ engine, cpuMs: 2_000 });
 */
export class WorkerPoolEngine implements SandboxEngine {
  readonly name = "quickjs-worker-pool";
  /** Worker threads at most. */
  readonly size: number;
  readonly #stackSizeMb: number;
  readonly #maxOldGenerationSizeMb: number | undefined;
  readonly #hostAnswerGraceMs: number;
  readonly #stuckGraceMs: number;
  readonly #workers: PoolWorker[] = [];
  #nextContext = 1;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = whole("size", options.size, defaultPoolSize(), POOL_LIMITS.maxPoolSize);
    this.#stackSizeMb = whole("stackSizeMb", options.stackSizeMb, POOL_LIMITS.workerStackSizeMb, 1024);
    this.#hostAnswerGraceMs = whole("hostAnswerGraceMs", options.hostAnswerGraceMs, POOL_LIMITS.hostAnswerGraceMs, 3_600_000);
    this.#stuckGraceMs = whole("stuckGraceMs", options.stuckGraceMs, POOL_LIMITS.stuckGraceMs, 3_600_000);
    this.#maxOldGenerationSizeMb = options.maxOldGenerationSizeMb === undefined ? undefined : whole("maxOldGenerationSizeMb", options.maxOldGenerationSizeMb, 0, 1 << 20);
  }

  async createContext(options: EngineContextOptions): Promise<EngineContext> {
    return new PoolContext(this.#nextContext++, this.#pick(), options.memoryBytes, options.host, () => this.#pick());
  }

  /**
   * Starts a worker now, if none is started, and resolves once its engine is ready: the first
   * sandbox then does not wait for a thread to start (~0.2 s; more on a busy machine). For a host
   * that knows it will run sandboxes soon.
   * @example
   * await workerPoolEngine().prestart();
   */
  async prestart(): Promise<void> {
    const started = this.#workers.find((w) => !w.dead) ?? this.#spawn();
    await started.warm();
  }

  /** The started workers (for tests and benchmarks). */
  get workers(): PoolWorkerInfo[] {
    return this.#workers.map((w) => ({ threadId: w.threadId, sandboxes: w.load, callsInFlight: w.busy }));
  }

  /** The thread id of the worker `context` lives on, if it is one of this pool's. */
  threadOf(context: EngineContext): number | undefined {
    return context instanceof PoolContext && this.#workers.includes(context.worker) ? context.worker.threadId : undefined;
  }

  /** Stops worker `threadId` as a crash would: its sandboxes fail, the others go on. */
  async terminateWorker(threadId: number): Promise<void> {
    await this.#workers.find((w) => w.threadId === threadId)?.terminate();
  }

  /** Stops every worker (their sandboxes fail); the pool starts new ones if used again. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  /**
   * The least-loaded worker, or a new one while some started worker holds sandboxes and there is room.
   * A worker whose call is overdue (stuck in a builtin no limit stops, or waiting on a slow host) takes
   * no new sandbox and leaves its place to a new worker, up to twice `size` workers in all.
   */
  #pick(): PoolWorker {
    const now = performance.now();
    let best: PoolWorker | undefined;
    let stuck: PoolWorker | undefined;
    let healthy = 0;
    const better = (worker: PoolWorker, than: PoolWorker | undefined) => !than || worker.load < than.load || (worker.load === than.load && worker.busy < than.busy);
    for (const worker of this.#workers) {
      if (worker.dead) continue;
      if (worker.overdue(now)) {
        if (better(worker, stuck)) stuck = worker;
        continue;
      }
      healthy++;
      if (better(worker, best)) best = worker;
    }
    if (best && (best.load === 0 || healthy >= this.size)) return best;
    if (this.#workers.length < (stuck ? 2 * this.size : this.size) || (!best && !stuck)) return this.#spawn();
    return best ?? stuck!;
  }

  #spawn(): PoolWorker {
    const options = { stackSizeMb: this.#stackSizeMb, maxOldGenerationSizeMb: this.#maxOldGenerationSizeMb, hostAnswerGraceMs: this.#hostAnswerGraceMs, stuckGraceMs: this.#stuckGraceMs };
    const worker = new PoolWorker(options, (gone) => {
      const i = this.#workers.indexOf(gone);
      if (i >= 0) this.#workers.splice(i, 1);
    });
    this.#workers.push(worker);
    return worker;
  }
}

let shared: WorkerPoolEngine | undefined;
/**
 * The process-wide worker pool, sized to the machine: the default engine of every sandbox.
 * @example
 * const sandbox = await Sandbox.create({ engine: workerPoolEngine() });
 */
export function workerPoolEngine(): WorkerPoolEngine {
  return (shared ??= new WorkerPoolEngine());
}
