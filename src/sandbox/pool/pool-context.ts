/**
 * A sandbox context that lives on a worker thread: every call is a message to that worker. Its state
 * (alive, memory in use) is what the worker reported after the last call.
 *
 * A context lives on one worker for its whole life, with one exception. When its worker is stopped
 * because another sandbox's call was stuck there (pool-worker.ts), a context whose state its setup
 * alone made (scripts and modules evaluated, no host call answered by the host, no `invoke` ended) is
 * rebuilt on another worker: created again and its setup replayed, then its call in flight, if any,
 * sent there. Nothing of it is lost: no code outside saw anything of it but its setup, which ran as
 * before. Any other context dies with the worker (its heap held state nothing can rebuild).
 */
import { AsyncResource } from "node:async_hooks";
import { EngineError, type Budget, type EngineContext, type EngineHost } from "../engine.ts";
import type { CallOutcome, PoolWorker, WorkerGuest } from "./pool-worker.ts";
import type { CallRequest, WireBudget } from "./protocol.ts";

/** A call as sent, without its budget (worked out at each sending: the wall clock left changes). */
type Unbudgeted = CallRequest extends infer R ? (R extends unknown ? Omit<R, "budget"> : never) : never;

/** A setup call that ended well, to replay on a rebuild with a fresh budget of the same size. */
interface SetupStep {
  request: Unbudgeted;
  cpuMs: number;
  wallMs: number;
}

function wireBudget(budget: Budget): WireBudget {
  return { cpuMs: budget.cpuMs, wallMsLeft: budget.deadline - performance.now(), wallMs: budget.wallMs };
}

export class PoolContext implements EngineContext, WorkerGuest {
  readonly id: number;
  readonly host: EngineHost;
  readonly answering: number[] = [];
  readonly #memoryBytes: number;
  /** A worker for a rebuild (the pool's placement). */
  readonly #place: () => PoolWorker;
  #worker: PoolWorker;
  #deadline = 0;
  /** The async context of the running call: host calls are answered in it, as on the caller's thread (an event's storage savepoint follows it). */
  #scope: AsyncResource | undefined;
  #memoryUsage = 0;
  #dead: EngineError | undefined;
  #disposed = false;
  /** The setup that made the context what it is, while replaying it would make it so again; undefined after that. */
  #setup: SetupStep[] | undefined = [];
  /** A rebuild on another worker under way: calls wait for it. */
  #rebuilding: Promise<void> | undefined;

  constructor(id: number, worker: PoolWorker, memoryBytes: number, host: EngineHost, place: () => PoolWorker) {
    this.id = id;
    this.host = host;
    this.#memoryBytes = memoryBytes;
    this.#place = place;
    this.#worker = worker;
    this.#placeOn(worker);
  }

  /** The worker this context lives on. */
  get worker(): PoolWorker {
    return this.#worker;
  }

  get deadline(): number {
    return this.#deadline;
  }

  get alive(): boolean {
    return !this.#disposed && !this.#dead;
  }

  /** The heap as the worker last measured it (a few ms after the last call; 0 before the first report). */
  get memoryUsage(): number {
    return this.alive ? this.#memoryUsage : 0;
  }

  memoryMeasured(bytes: number): void {
    this.#memoryUsage = bytes;
  }

  reachedHost(): void {
    this.#setup = undefined;
  }

  async evalScript(source: string, filename: string, budget: Budget): Promise<void> {
    await this.#call({ t: "evalScript", ctx: this.id, source, filename }, budget);
  }

  async evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void> {
    await this.#call({ t: "evalModule", ctx: this.id, source, filename, modules }, budget);
  }

  async invoke(name: string, args: string[], budget: Budget): Promise<string> {
    return (await this.#call({ t: "invoke", ctx: this.id, name, args }, budget)) ?? "";
  }

  callNested(name: string, args: string[]): string {
    const seq = this.answering.at(-1);
    if (seq === undefined || !this.alive) throw new EngineError("a nested call can only be made while the sandbox's code runs", undefined, false);
    return this.#worker.nested(this.id, seq, name, args, this.#deadline);
  }

  inCall<T>(fn: () => T): T {
    return this.#scope ? this.#scope.runInAsyncScope(fn) : fn();
  }

  fail(error: EngineError, movable: boolean): void {
    if (this.#disposed || this.#dead) return;
    if (!movable || !this.#setup) {
      this.#dead = error;
      return;
    }
    try {
      this.#rebuild(this.#setup);
    } catch (thrown) {
      // No worker could be started for it: it goes with the stopped one.
      this.#dead = new EngineError(`${error.message}, and the sandbox could not be made again on another: ${(thrown as Error).message}`, undefined, true);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#setup = undefined;
    this.#worker.guests.delete(this.id);
    this.#worker.post({ t: "dispose", ctx: this.id });
  }

  #placeOn(worker: PoolWorker): void {
    this.#worker = worker;
    worker.guests.set(this.id, this);
    worker.post({ t: "create", ctx: this.id, memoryBytes: this.#memoryBytes, constants: { ...this.host.constants } });
  }

  /** Creates the context again on another worker and replays its setup there; calls wait meanwhile. */
  #rebuild(setup: SetupStep[]): void {
    const worker = this.#place();
    this.#placeOn(worker);
    const rebuilding = this.#replay(worker, setup).finally(() => {
      if (this.#rebuilding === rebuilding) this.#rebuilding = undefined;
    });
    this.#rebuilding = rebuilding;
  }

  async #replay(worker: PoolWorker, setup: SetupStep[]): Promise<void> {
    for (const { request, cpuMs, wallMs } of setup) {
      if (this.#disposed || this.#worker !== worker) return;
      let error: Error | undefined;
      try {
        const outcome = await worker.call({ ...request, budget: { cpuMs, wallMsLeft: wallMs, wallMs } } as CallRequest, performance.now() + wallMs);
        error = outcome.error ?? (outcome.alive ? undefined : new Error("it was stopped"));
      } catch (thrown) {
        // Stopped again for another sandbox's sake: the rebuild that followed replays the setup.
        if (this.#worker !== worker) return;
        error = thrown as Error;
      }
      if (error) {
        this.#dead ??= new EngineError(`the sandbox's worker thread stopped, and the sandbox could not be made again on another: ${error.message}`, undefined, true);
        worker.guests.delete(this.id);
        worker.post({ t: "dispose", ctx: this.id });
        return;
      }
    }
  }

  async #call(request: Unbudgeted, budget: Budget): Promise<string | undefined> {
    /** The call waited for a rebuild of the sandbox elsewhere (or was sent, and is sent again, there). */
    let rebuilt = false;
    for (;;) {
      while (this.#rebuilding) {
        rebuilt = true;
        await this.#rebuilding;
      }
      if (this.#dead) throw this.#dead;
      if (this.#disposed) throw new EngineError("the sandbox was disposed", undefined, true);
      // Its wall clock starts again: as a replayed setup step, it runs from its start on the new worker,
      // and the time behind another sandbox's stuck call and the rebuild was not its own (a call waiting
      // behind another on its worker does not count that time either: the worker starts its clock).
      if (rebuilt) budget = { ...budget, deadline: performance.now() + budget.wallMs };
      const worker = this.#worker;
      this.#deadline = budget.deadline;
      this.#scope = new AsyncResource("HearthSandboxCall");
      let outcome: CallOutcome;
      try {
        outcome = await worker.call({ ...request, budget: wireBudget(budget) } as CallRequest, budget.deadline);
      } catch (error) {
        // The worker was stopped for another sandbox's stuck call and this one rebuilt elsewhere: the call goes there.
        if (this.#worker !== worker) {
          rebuilt = true;
          continue;
        }
        throw error;
      }
      if (!outcome.alive && !this.#disposed) {
        this.#dead ??= outcome.error instanceof EngineError ? outcome.error : new EngineError("the sandbox was stopped", undefined, true);
      }
      this.#record(request, budget, outcome.error === undefined && outcome.alive);
      if (outcome.error) throw outcome.error;
      return outcome.value;
    }
  }

  /** Keeps a setup call that ended well; anything else ends what a replay could rebuild. */
  #record(request: Unbudgeted, budget: Budget, ok: boolean): void {
    if (!this.#setup) return;
    if (ok && request.t !== "invoke") this.#setup.push({ request, cpuMs: budget.cpuMs, wallMs: budget.wallMs });
    else this.#setup = undefined;
  }
}
