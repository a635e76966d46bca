/**
 * A sandbox context that lives on a worker thread for its whole life: every call is a message to
 * that worker. Its state (alive, memory in use) is what the worker reported after the last call.
 */
import { AsyncResource } from "node:async_hooks";
import { EngineError, type Budget, type EngineContext, type EngineHost } from "../engine.ts";
import type { PoolWorker, WorkerGuest } from "./pool-worker.ts";
import type { CallRequest, WireBudget } from "./protocol.ts";

function wireBudget(budget: Budget): WireBudget {
  return { cpuMs: budget.cpuMs, wallMsLeft: budget.deadline - performance.now(), wallMs: budget.wallMs };
}

export class PoolContext implements EngineContext, WorkerGuest {
  readonly id: number;
  readonly host: EngineHost;
  readonly answering: number[] = [];
  readonly #worker: PoolWorker;
  #deadline = 0;
  /** The async context of the running call: host calls are answered in it, as on the caller's thread (an event's storage savepoint follows it). */
  #scope: AsyncResource | undefined;
  #memoryUsage = 0;
  #dead: EngineError | undefined;
  #disposed = false;

  constructor(id: number, worker: PoolWorker, memoryBytes: number, host: EngineHost) {
    this.id = id;
    this.host = host;
    this.#worker = worker;
    worker.guests.set(id, this);
    worker.post({ t: "create", ctx: id, memoryBytes, constants: { ...host.constants } });
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

  async evalScript(source: string, filename: string, budget: Budget): Promise<void> {
    await this.#call({ t: "evalScript", ctx: this.id, source, filename, budget: wireBudget(budget) }, budget);
  }

  async evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void> {
    await this.#call({ t: "evalModule", ctx: this.id, source, filename, modules, budget: wireBudget(budget) }, budget);
  }

  async invoke(name: string, args: string[], budget: Budget): Promise<string> {
    return (await this.#call({ t: "invoke", ctx: this.id, name, args, budget: wireBudget(budget) }, budget)) ?? "";
  }

  callNested(name: string, args: string[]): string {
    const seq = this.answering.at(-1);
    if (seq === undefined || !this.alive) throw new EngineError("a nested call can only be made while the sandbox's code runs", undefined, false);
    return this.#worker.nested(this.id, seq, name, args, this.#deadline);
  }

  inCall<T>(fn: () => T): T {
    return this.#scope ? this.#scope.runInAsyncScope(fn) : fn();
  }

  fail(error: EngineError): void {
    this.#dead ??= error;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#worker.guests.delete(this.id);
    this.#worker.post({ t: "dispose", ctx: this.id });
  }

  async #call(request: CallRequest, budget: Budget): Promise<string | undefined> {
    if (this.#dead) throw this.#dead;
    if (this.#disposed) throw new EngineError("the sandbox was disposed", undefined, true);
    this.#deadline = budget.deadline;
    this.#scope = new AsyncResource("HearthSandboxCall");
    const outcome = await this.#worker.call(request, budget.deadline);
    if (!outcome.alive && !this.#disposed) {
      this.#dead ??= outcome.error instanceof EngineError ? outcome.error : new EngineError("the sandbox was stopped", undefined, true);
    }
    if (outcome.error) throw outcome.error;
    return outcome.value;
  }
}
