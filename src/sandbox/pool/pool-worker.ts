/**
 * The host thread's side of one sandbox worker thread: starts it, sends calls and matches their
 * answers, answers the sandboxes' host calls, and fails only this worker's sandboxes when it dies.
 *
 * The host thread waits on a worker in two cases, both for a guest's storage and both bounded by the
 * running call's CPU and wall-clock budget:
 * - a nested call (`callNested`), made by host code while it answers one of that sandbox's sync
 *   calls (a storage transaction wrapping a callback in the sandbox): the host code needs the
 *   callback's result before it can go on, synchronously. The worker runs nothing else meanwhile.
 * - a held turn (`EngineHost.holdsTurn`): after answering a storage operation, the host thread
 *   stays in its current turn until the sandbox's synchronous run ends, because the host's implicit
 *   transaction commits at the end of each turn and the run may still fail and have to undo its
 *   writes (as it could when the sandbox ran on the host thread).
 * Sandboxes that do not use an extension's storage never make the host thread wait.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import { EngineError, timeLimitError, type EngineHost } from "../engine.ts";
import { POOL_LIMITS } from "./limits.ts";
import { RunStateReader, newRunState } from "./run-state.ts";
import { StuckWatch, type StuckLimit } from "./stuck-watch.ts";
import { SyncChannel } from "./sync-channel.ts";
import { TO_HOST, TO_WORKER, fromWireError, toWireError, type CallRequest, type FromWorker, type SyncRequest, type SyncToHost, type SyncToWorker, type ToWorker, type WorkerSetup } from "./protocol.ts";

/** What a call into a worker gives back: its value or error, and whether the context is still alive. */
export interface CallOutcome {
  value: string | undefined;
  error: Error | undefined;
  alive: boolean;
}

/** A context as its worker sees it (implemented by PoolContext). */
export interface WorkerGuest {
  /** The context's number on its worker. */
  readonly id: number;
  readonly host: EngineHost;
  /** Sync calls of this sandbox being answered now, innermost last (nested calls belong to the innermost). */
  readonly answering: number[];
  /** Runs `fn` in the async context of the sandbox's running call. */
  inCall<T>(fn: () => T): T;
  /** The worker measured the sandbox's heap. */
  memoryMeasured(bytes: number): void;
  /** The sandbox's code made a host call that the host answered (its state may now hold what came back). */
  reachedHost(): void;
  /**
   * The worker died: the sandbox is dead with this error, unless `movable` (the worker was stopped for
   * another sandbox's call, stuck) and the sandbox can be rebuilt on another worker as it was.
   */
  fail(error: EngineError, movable: boolean): void;
  /** The running call's wall-clock deadline (performance.now()). */
  readonly deadline: number;
}


const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./worker-main.ts" : "./worker-main.js", import.meta.url);

/**
 * The worker's Node options: none when it loads JavaScript, or TypeScript that Node strips itself.
 * Loaders the host process runs under (`--import tsx`) would otherwise start again in every worker,
 * costing each one seconds on a busy machine; only TypeScript without Node's own stripping needs them.
 */
const WORKER_EXEC_ARGV: string[] | undefined =
  WORKER_URL.pathname.endsWith(".js") || (process.features as { typescript?: string | false }).typescript ? [] : undefined;

/** Beyond the host's grace for a slow answer, how long a call may still take before its worker counts as stuck. */
const STUCK_MARGIN_MS = 1_000;

export interface PoolWorkerOptions {
  stackSizeMb: number;
  hostAnswerGraceMs: number;
  /** How far past its limits a call may run where no limit is checked before the worker is stopped (stuck-watch.ts). */
  stuckGraceMs: number;
  maxOldGenerationSizeMb: number | undefined;
}

/** A call sent to the worker and not answered yet. */
interface PendingCall {
  ctx: number;
  /** Wall-clock deadline (this thread's performance.now()). */
  deadline: number;
  cpuMs: number;
  wallMs: number;
  resolve: (outcome: CallOutcome) => void;
  reject: (error: Error) => void;
}

/** The worker's CPU time so far in ms, where Node can read another thread's (`Worker.cpuUsage`, Node 24.6 and later). */
function cpuClockOf(worker: Worker): () => Promise<number | undefined> {
  const read = (worker as Worker & { cpuUsage?: () => Promise<{ user: number; system: number }> }).cpuUsage;
  if (typeof read !== "function") return async () => undefined;
  return async () => {
    try {
      const { user, system } = await read.call(worker);
      return (user + system) / 1000;
    } catch {
      return undefined;
    }
  };
}

export class PoolWorker {
  readonly #worker: Worker;
  readonly #channel: SyncChannel<SyncToWorker, SyncToHost>;
  readonly guests = new Map<number, WorkerGuest>();
  readonly #calls = new Map<number, PendingCall>();
  /** Stops the worker when one of its calls is stuck where no limit is checked. */
  readonly #watch: StuckWatch;
  #nextCall = 1;
  #warm: Promise<void> | undefined;
  #warmed: (() => void) | undefined;
  #dead: EngineError | undefined;
  /** The host thread is in a held turn (reading only the sync channel until `release`). */
  #holding = false;
  /** Nested calls the host thread is waiting for (a turn is held only from the outermost answer). */
  #nesting = 0;
  readonly #onGone: (worker: PoolWorker) => void;
  /** How long past a call's wall-clock deadline the worker may still answer it (see {@link call}). */
  readonly #stuckAfterMs: number;

  constructor(options: PoolWorkerOptions, onGone: (worker: PoolWorker) => void) {
    this.#onGone = onGone;
    this.#stuckAfterMs = options.hostAnswerGraceMs + STUCK_MARGIN_MS;
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(8);
    const runState = newRunState();
    const setup: WorkerSetup = { signal, port: port2, hostAnswerGraceMs: options.hostAnswerGraceMs, runState };
    this.#worker = new Worker(WORKER_URL, {
      workerData: setup,
      transferList: [port2],
      ...(WORKER_EXEC_ARGV ? { execArgv: WORKER_EXEC_ARGV } : {}),
      resourceLimits: { stackSizeMb: options.stackSizeMb, ...(options.maxOldGenerationSizeMb ? { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb } : {}) },
    });
    this.#channel = new SyncChannel(port1, signal, TO_WORKER, TO_HOST);
    this.#watch = new StuckWatch({
      reader: new RunStateReader(runState),
      cpuMs: cpuClockOf(this.#worker),
      graceMs: options.stuckGraceMs,
      callOf: (ctx) => this.#callOf(ctx),
      onStuck: (ctx, limit) => this.#stopStuck(ctx, limit),
    });
    // An idle worker never keeps the process alive; one with calls in flight does (see #track).
    this.#worker.unref();
    this.#worker.on("message", (message: FromWorker) => this.#onMessage(message));
    this.#worker.on("error", (error: Error) => this.#die(`it failed: ${error.message}`));
    this.#worker.on("exit", (code: number) => this.#die(`it exited with code ${code}`));
  }

  /** The worker's thread id (for tests and benchmarks). */
  get threadId(): number {
    return this.#worker.threadId;
  }

  /** Sandboxes placed on this worker. */
  get load(): number {
    return this.guests.size;
  }

  /** Calls in flight. */
  get busy(): number {
    return this.#calls.size;
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  /**
   * Whether a call in flight is past its wall-clock deadline by more than POOL_LIMITS.overdueAfterMs
   * at `now`: the worker is stuck where no limit is checked (or waits on a slow host answer), and a
   * sandbox placed on it would wait behind that call, then fail with it if the worker is stopped.
   */
  overdue(now: number): boolean {
    for (const call of this.#calls.values()) if (now > call.deadline + POOL_LIMITS.overdueAfterMs) return true;
    return false;
  }

  post(message: ToWorker): void {
    if (!this.#dead) this.#worker.postMessage(message);
  }

  /**
   * Sends a call (evalScript, evalModule, invoke) and resolves with its answer. A call stuck where no
   * limit is checked (a native builtin looping for minutes) past its CPU budget or wall clock and a
   * small grace has the worker stopped (stuck-watch.ts): the call fails with that limit's error, as
   * if the engine had stopped it. As a last resort, a call still unanswered long after its `deadline`
   * for any other reason (the host's own grace for slow answers, and a little more) has the worker
   * stopped too: every sandbox placed on it would wait behind it for good. The pool starts another.
   */
  call(message: CallRequest, deadline: number): Promise<CallOutcome> {
    if (this.#dead) return Promise.reject(this.#dead);
    const call = this.#nextCall++;
    return new Promise<CallOutcome>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        if (!this.#calls.has(call)) return;
        this.#die("a call did not end within its wall-clock limit and the host's grace (hostAnswerGraceMs)");
        void this.#worker.terminate();
      }, Math.max(0, deadline - performance.now()) + this.#stuckAfterMs);
      watchdog.unref();
      const settled = <T>(settle: (value: T) => void) => (value: T) => {
        clearTimeout(watchdog);
        settle(value);
      };
      this.#calls.set(call, { ctx: message.ctx, deadline, cpuMs: message.budget.cpuMs, wallMs: message.budget.wallMs, resolve: settled(resolve), reject: settled(reject) });
      if (this.#calls.size === 1) {
        this.#worker.ref();
        this.#watch.start();
      }
      this.#worker.postMessage({ ...message, call } as ToWorker);
    });
  }

  /** Resolves once the worker's engine has started (its first WebAssembly instance is ready). */
  warm(): Promise<void> {
    if (this.#dead) return Promise.resolve();
    this.#warm ??= new Promise<void>((resolve) => {
      this.#warmed = resolve;
      this.#worker.ref(); // the caller waits for it
      this.#worker.postMessage({ t: "warm" } satisfies ToWorker);
    });
    return this.#warm;
  }

  /** Stops the thread; its sandboxes fail with an error saying so. */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  /** Runs `name(args)` inside sandbox `ctx` while it waits for the answer to its sync call `seq`; the host thread sleeps until done. */
  nested(ctx: number, seq: number, name: string, args: string[], deadline: number): string {
    if (this.#dead) throw this.#dead;
    this.#channel.post({ t: "nested", seq, ctx, name, args });
    this.#nesting++;
    try {
      return this.#awaitNested(seq, deadline);
    } finally {
      this.#nesting--;
    }
  }

  #awaitNested(seq: number, deadline: number): string {
    for (;;) {
      const message = this.#channel.receive(Math.max(0, deadline - performance.now()) + POOL_LIMITS.hostWaitGraceMs);
      if (!message) {
        throw new EngineError("the sandbox's worker thread did not answer a nested call within the call's wall-clock limit (wallMs)", "wallMs", true);
      }
      if (message.t !== "nestedDone") {
        this.#dispatch(message);
        continue;
      }
      if (message.seq !== seq) continue;
      if (message.ok) return message.value ?? "";
      throw fromWireError(message.error!);
    }
  }

  /** Stays in this turn, answering the worker by the sync channel, until it releases the turn (or gave up on sync call `seq`). */
  #hold(deadline: number, seq: number): void {
    this.#holding = true;
    try {
      for (;;) {
        const message = this.#channel.receive(Math.max(0, deadline - performance.now()) + POOL_LIMITS.hostWaitGraceMs);
        if (!message) {
          // The worker is stuck or gone: it cannot be trusted with the turn again.
          this.#die("it did not give the host thread back within the call's wall-clock limit");
          void this.#worker.terminate();
          return;
        }
        if (message.t === "release" || (message.t === "gaveUp" && message.seq === seq)) return;
        this.#dispatch(message);
      }
    } finally {
      this.#holding = false;
    }
  }

  /** A message from the worker, by its port or by the sync channel. */
  #dispatch(message: SyncToHost): void {
    if (message.t === "release" || message.t === "nestedDone" || message.t === "gaveUp") return;
    this.#onMessage(message);
  }

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case "done": {
        const pending = this.#calls.get(message.call);
        if (!pending) return;
        this.#calls.delete(message.call);
        if (this.#calls.size === 0) {
          this.#worker.unref();
          this.#watch.stop();
        }
        const error = message.ok ? undefined : fromWireError(message.error!);
        pending.resolve({ value: message.value, error, alive: message.alive });
        return;
      }
      case "sync":
        this.#answerSync(message);
        return;
      case "async":
        this.#answerAsync(message);
        return;
      case "warm":
        if (this.#calls.size === 0) this.#worker.unref();
        this.#warmed?.();
        this.#warmed = undefined;
        return;
      case "memory":
        this.guests.get(message.ctx)?.memoryMeasured(message.bytes);
        return;
    }
  }

  #answerSync(request: SyncRequest): void {
    const guest = this.guests.get(request.ctx);
    let answer: SyncToWorker;
    let hold = false;
    if (!guest) {
      answer = { t: "answer", seq: request.seq, ok: false, error: toWireError(new EngineError("the sandbox was disposed", undefined, true)) };
    } else {
      guest.reachedHost();
      guest.answering.push(request.seq);
      try {
        const value = guest.inCall(() => guest.host.syncCall(request.op, request.payload));
        answer = { t: "answer", seq: request.seq, ok: true, ...(value === undefined ? {} : { value }) };
        hold = !this.#holding && this.#nesting === 0 && guest.host.holdsTurn?.(request.op) === true;
      } catch (error) {
        answer = { t: "answer", seq: request.seq, ok: false, error: toWireError(error) };
      } finally {
        guest.answering.pop();
      }
    }
    if (hold) answer.hold = true;
    this.#channel.post(answer);
    if (hold) this.#hold(guest!.deadline, request.seq);
  }

  #answerAsync(request: Extract<FromWorker, { t: "async" }>): void {
    const guest = this.guests.get(request.ctx);
    const settle = (ok: boolean, value: string | undefined, error: unknown): void =>
      this.post(ok ? { t: "settle", ctx: request.ctx, id: request.id, ok, value: value ?? "" } : { t: "settle", ctx: request.ctx, id: request.id, ok, error: toWireError(error) });
    if (!guest) {
      settle(false, undefined, new EngineError("the sandbox was disposed", undefined, true));
      return;
    }
    guest.reachedHost();
    guest
      .inCall(() => Promise.resolve().then(() => guest.host.asyncCall(request.op, request.payload)))
      .then(
        (value) => settle(true, value, undefined),
        (error: unknown) => settle(false, undefined, error),
      );
  }

  /** The call in flight of context `ctx` (the oldest, if the context sent several). */
  #callOf(ctx: number): PendingCall | undefined {
    for (const pending of this.#calls.values()) if (pending.ctx === ctx) return pending;
    return undefined;
  }

  /** Context `ctx`'s call is stuck past `limit` where no limit is checked: only stopping the thread ends it. */
  #stopStuck(ctx: number, limit: StuckLimit): void {
    const call = this.#callOf(ctx);
    if (!call || this.#dead) return;
    this.#die("another sandbox's call on it ran past its limits inside a native builtin, where no limit is checked", { ctx, error: timeLimitError(limit, call) });
    void this.#worker.terminate();
  }

  /**
   * The worker is gone: its calls fail and its sandboxes are dead, with an error naming `reason`.
   * When it was stopped for one sandbox's stuck call (`stuck`), that sandbox and its call get the
   * limit's error, and the others may be rebuilt on another worker (PoolContext decides).
   */
  #die(reason: string, stuck?: { ctx: number; error: EngineError }): void {
    if (this.#dead) return;
    const error = new EngineError(`the sandbox's worker thread stopped (${reason})`, undefined, true);
    this.#dead = error;
    this.#watch.stop();
    this.#channel.close();
    // First, so that a sandbox rebuilt elsewhere is not placed here again.
    this.#onGone(this);
    const guests = [...this.guests.values()];
    this.guests.clear();
    for (const guest of guests) {
      if (stuck?.ctx === guest.id) guest.fail(stuck.error, false);
      else guest.fail(error, stuck !== undefined);
    }
    for (const pending of this.#calls.values()) pending.reject(stuck?.ctx === pending.ctx ? stuck.error : error);
    this.#calls.clear();
    this.#warmed?.();
  }
}
