/**
 * One sandbox on the QuickJS engine: a QuickJS runtime + context (~90 KB of heap) inside a shard's
 * WebAssembly instance, its two bridge functions to the host, its module loader, and the driving of
 * a call (scripts, modules, a global function's promise) under the call's budget (quickjs-meter.ts).
 *
 * Native stack: WebAssembly frames live on Node's own stack, which QuickJS's stack check does not
 * see. Code nested deeply enough (parser recursion, JSON of deeply nested arrays) can overflow it,
 * and V8 then throws a RangeError out of the middle of QuickJS. We restore the module's shadow stack
 * pointer, abandon that runtime (its memory is leaked until the shard goes away) and retire the shard.
 * A trap of the module itself (WebAssembly.RuntimeError) stops every sandbox of that shard with an error.
 */
import { posix } from "node:path";
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core";
import { LIMITS } from "../limits.ts";
import { EngineError, type Budget, type EngineContext, type EngineContextOptions, type EngineHost } from "./engine.ts";
import { CallMeter, mib } from "./quickjs-meter.ts";
import { retireIfOutgrown, retireShard, type Shard } from "./quickjs-shard.ts";
import { isNativeStackOverflow } from "./quickjs-wasm.ts";

/** The prelude's request for a heap measurement (handled here, never passed to the host). */
const MEMORY_CHECK_OP = "memory";
/** The prelude's request for a check of the call's CPU time and wall clock, between steps of a long native search (handled here). */
const TIME_CHECK_OP = "time";
/**
 * The engine's own memory limit, as a multiple of the sandbox's: it refuses one allocation larger than
 * that on its own (an InternalError the code may catch), and is otherwise far enough past the limit
 * that the meter, which records what it stops, stops a growing heap first (see quickjs-meter.ts).
 */
const ENGINE_LIMIT_FACTOR = 2;
/** Pending jobs run between two budget checks. */
const JOB_BATCH = 256;

/** A module name as the loader keeps it: relative to the sandbox's root, normalized. */
function normalizeName(name: string): string {
  return posix.normalize(name.replace(/^(\.\/|\/)+/, ""));
}

/** One sandbox's QuickJS runtime and context; made by `QuickJSEngine.createContext`. */
export class QuickJSEngineContext implements EngineContext {
  readonly #shard: Shard;
  readonly #host: EngineHost;
  readonly #memoryBytes: number;
  readonly #release: () => void;
  readonly #onRun: (() => () => void) | undefined;
  readonly #rt: QuickJSRuntime;
  readonly #ctx: QuickJSContext;
  readonly #pending = new Set<QuickJSDeferredPromise>();
  readonly #modules = new Map<string, string>();
  readonly #meter: CallMeter;
  #wake: (() => void) | undefined;
  #dead: EngineError | undefined;
  #abandoned = false;
  #disposed = false;
  /** Calls whose handles are still held: the runtime is freed only once they have let go. */
  #calls = 0;

  constructor(shard: Shard, options: EngineContextOptions, release: () => void) {
    this.#shard = shard;
    this.#host = options.host;
    this.#memoryBytes = options.memoryBytes;
    this.#release = release;
    this.#onRun = options.onRun;
    // Past its limit, the runtime's own limit refuses everything (see quickjs-meter.ts for what it is until then).
    const refuse = (): void => {
      if (this.#rt.alive) this.#rt.setMemoryLimit(1);
    };
    this.#meter = new CallMeter(options.memoryBytes, shard.memory, () => this.#walkHeap(), refuse);
    this.#rt = shard.module.newRuntime();
    this.#rt.setMemoryLimit(ENGINE_LIMIT_FACTOR * options.memoryBytes);
    this.#rt.setMaxStackSize(LIMITS.sandboxStackBytes);
    this.#rt.setInterruptHandler(() => this.#meter.shouldInterrupt());
    this.#rt.setModuleLoader(
      (name) => {
        const source = this.#modules.get(name);
        if (source === undefined) return { error: new Error(`Cannot find module '${name}': only the modules given to the sandbox can be imported`) };
        return name.endsWith(".json") ? `export default ${source};` : source;
      },
      (base, requested) => {
        if (requested.startsWith("./") || requested.startsWith("../")) return normalizeName(posix.join(posix.dirname(normalizeName(base)), requested));
        return normalizeName(requested);
      },
    );
    this.#ctx = this.#rt.newContext();
    this.#installBridges();
  }

  get alive(): boolean {
    return !this.#disposed && !this.#dead;
  }

  get memoryUsage(): number {
    if (!this.alive) return 0;
    // The walk made as the last call ended still holds: nothing has run since.
    return this.#meter.heapSinceRun ?? this.#walkHeap();
  }

  /** Bytes in use by the heap: a walk of it, in proportion to its size. */
  #walkHeap(): number {
    if (!this.alive) return 0;
    try {
      const usage = this.#rt.computeMemoryUsage();
      try {
        const used = this.#ctx.getProp(usage, "memory_used_size");
        try {
          return this.#ctx.getNumber(used);
        } finally {
          used.dispose();
        }
      } finally {
        usage.dispose();
      }
    } catch {
      return 0;
    }
  }

  #installBridges(): void {
    const ctx = this.#ctx;
    const strings = (args: QuickJSHandle[]): [string, string] => {
      const [op, payload] = args;
      if (!op || !payload || ctx.typeof(op) !== "string" || ctx.typeof(payload) !== "string") throw new TypeError("bridge calls take two strings");
      return [ctx.getString(op), ctx.getString(payload)];
    };
    const sync = ctx.newFunction("__hearth_sync", (...args) => {
      const [op, payload] = strings(args);
      if (op === MEMORY_CHECK_OP) {
        this.#meter.checkMemory(Number(payload) || 0);
        return ctx.undefined;
      }
      if (op === TIME_CHECK_OP) {
        this.#meter.checkTime();
        return ctx.undefined;
      }
      this.#meter.checkHostCall();
      const answer = this.#host.syncCall(op, payload);
      return answer === undefined ? ctx.undefined : ctx.newString(answer);
    });
    const async = ctx.newFunction("__hearth_async", (...args) => {
      const [op, payload] = strings(args);
      this.#meter.checkHostCall();
      if (this.#pending.size >= LIMITS.maxPendingHostCalls) {
        throw new RangeError(`too many host calls in flight: at most ${LIMITS.maxPendingHostCalls} (maxPendingHostCalls)`);
      }
      const deferred = ctx.newPromise();
      this.#pending.add(deferred);
      // Host work starts after the engine returns, so it is not counted as the sandbox's CPU time.
      Promise.resolve()
        .then(() => this.#host.asyncCall(op, payload))
        .then(
        (value) => this.#settle(deferred, value, undefined),
        (error: unknown) => this.#settle(deferred, undefined, error),
      );
      return deferred.handle;
    });
    ctx.setProp(ctx.global, "__hearth_sync", sync);
    ctx.setProp(ctx.global, "__hearth_async", async);
    sync.dispose();
    async.dispose();
  }

  #settle(deferred: QuickJSDeferredPromise, value: string | undefined, error: unknown): void {
    if (!this.#pending.delete(deferred) || !this.alive) return;
    try {
      this.#enter(() => {
        if (error === undefined) {
          const handle = this.#ctx.newString(value ?? "");
          deferred.resolve(handle);
          handle.dispose();
        } else {
          const e = error instanceof Error ? error : new Error(String(error));
          const handle = this.#ctx.newError({ name: e.name || "Error", message: e.message });
          deferred.reject(handle);
          handle.dispose();
        }
      });
    } catch (e) {
      if (!this.#dead) this.#dead = e instanceof EngineError ? e : new EngineError(`memory limit of ${mib(this.#memoryBytes)} exceeded (memoryBytes)`, "memoryBytes", true);
    } finally {
      deferred.dispose();
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
  }

  /** Runs `fn` inside the engine, counting its time against the budget and containing native crashes. */
  #enter<T>(fn: () => T): T {
    if (this.#dead) throw this.#dead;
    if (this.#disposed) throw new EngineError("the sandbox was disposed", undefined, true);
    const sp = this.#shard.stack?.save();
    // The instance's growth from here on is this sandbox's (the shard asks its meter before growing).
    const outer = this.#shard.running;
    this.#shard.running = this.#meter;
    this.#meter.enter();
    const stopped = this.#onRun?.();
    try {
      return fn();
    } catch (error) {
      if (isNativeStackOverflow(error) && sp !== undefined && this.#shard.stack) {
        this.#shard.stack.restore(sp);
        this.#abandon(new EngineError("stack overflow: the code nests too deeply for the engine (native stack exhausted)", undefined, true));
        throw this.#dead;
      }
      if (error instanceof WebAssembly.RuntimeError || isNativeStackOverflow(error)) {
        const dead = new EngineError(`the sandbox engine crashed: ${(error as Error).message}`, undefined, true);
        retireShard(this.#shard);
        for (const context of this.#shard.contexts) context.#abandon(dead);
        throw dead;
      }
      throw error;
    } finally {
      stopped?.();
      this.#shard.running = outer;
      this.#meter.exit();
    }
  }

  #abandon(error: EngineError): void {
    this.#abandoned = true;
    this.#dead ??= error;
    retireShard(this.#shard);
    this.#pending.clear();
    this.#wake?.();
  }

  /** The error of the limit that stopped the current call, if one did; the context is dead then. */
  #limitError(): EngineError | undefined {
    const error = this.#meter.limitError();
    if (error) this.#dead = error;
    return error;
  }

  #begin(budget: Budget): void {
    if (this.#dead) throw this.#dead;
    this.#meter.begin(budget);
    const limit = this.#limitError();
    if (limit) throw limit;
  }

  /**
   * Runs a call, then walks the heap: what the call kept counts however it was allocated (a builtin
   * the prelude does not wrap, a check the code got around). Over the limit, the call fails with it
   * and the sandbox is stopped, as at any other check.
   */
  async #measured<T>(call: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await call();
    } catch (error) {
      // A limit that stopped the sandbox wins; the code's own error gives way to the memory limit.
      if (!(error instanceof EngineError && error.fatal)) this.#checkHeapAtEnd();
      throw error;
    } finally {
      retireIfOutgrown(this.#shard);
    }
    this.#checkHeapAtEnd();
    return value;
  }

  #checkHeapAtEnd(): void {
    if (this.#dead || this.#disposed) return;
    this.#meter.finish();
    const limit = this.#limitError();
    if (limit) throw limit;
  }

  /** Converts an exception handle into an Error (or the limit that caused it), disposing it. */
  #failure(handle: QuickJSHandle): Error {
    const limit = this.#limitError();
    if (limit) {
      handle.dispose();
      return limit;
    }
    let name = "Error";
    let message: string;
    try {
      // Inside the meter: dumping runs the value's own code (toJSON, getters), which must not get
      // past the call's CPU and wall limits.
      const dumped: unknown = this.#enter(() => this.#ctx.dump(handle));
      if (dumped && typeof dumped === "object") {
        const d = dumped as { name?: unknown; message?: unknown };
        name = typeof d.name === "string" ? d.name : name;
        message = typeof d.message === "string" ? d.message : JSON.stringify(dumped);
      } else message = String(dumped);
    } catch (error) {
      const stopped = this.#limitError();
      if (stopped) {
        handle.dispose();
        return stopped;
      }
      if (error instanceof EngineError) {
        handle.dispose();
        return error;
      }
      message = "an error whose value could not be read";
    } finally {
      if (handle.alive) handle.dispose();
    }
    // The memory limit is the meter's to report (its stop reason, above), refusals of allocations
    // included: an error that only says "out of memory" may be the code's own.
    const error = new Error(message);
    error.name = name;
    return error;
  }

  /** Runs pending jobs in batches until none are left, the budget ends, or a job fails fatally. */
  #runJobs(): void {
    for (;;) {
      const ran = this.#enter(() => {
        const result = this.#rt.executePendingJobs(JOB_BATCH);
        if (result.error) {
          throw this.#failure(result.error);
        }
        const count = result.value;
        return count;
      });
      const limit = this.#limitError();
      if (limit) throw limit;
      if (ran === 0) return;
      if (this.#meter.overCpu) {
        this.#meter.stop("cpuMs");
        throw this.#limitError()!;
      }
    }
  }

  /** Drives a promise handle (owned by the caller) until it settles; returns a new handle of its value. */
  async #drive(promise: QuickJSHandle): Promise<QuickJSHandle> {
    for (;;) {
      this.#runJobs();
      const state = this.#ctx.getPromiseState(promise);
      if (state.type === "fulfilled") return state.value;
      if (state.type === "rejected") throw this.#failure(state.error);
      if (this.#pending.size === 0) {
        throw new EngineError("the sandbox's promise can never settle: it awaits something that nothing will resolve", undefined, false);
      }
      const remaining = this.#meter.deadline - performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(false);
        timer = setTimeout(() => resolve(true), Math.max(0, remaining));
      });
      clearTimeout(timer);
      this.#wake = undefined;
      if (this.#dead) throw this.#dead;
      if (timedOut) {
        this.#meter.stop("wallMs");
        throw this.#limitError()!;
      }
    }
  }

  async evalScript(source: string, filename: string, budget: Budget): Promise<void> {
    this.#begin(budget);
    await this.#measured(async () => {
      const result = this.#enter(() => this.#ctx.evalCode(source, filename, { type: "global" }));
      if (result.error) throw this.#failure(result.error);
      result.value.dispose();
    });
  }

  async evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void> {
    this.#calls++;
    try {
      await this.#measured(() => this.#evalModule(source, filename, modules, budget));
    } finally {
      this.#callEnded();
    }
  }

  async #evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void> {
    this.#begin(budget);
    for (const [name, text] of Object.entries(modules)) this.#modules.set(normalizeName(name), text);
    const result = this.#enter(() => this.#ctx.evalCode(source, filename, { type: "module" }));
    if (result.error) throw this.#failure(result.error);
    try {
      const state = this.#ctx.getPromiseState(result.value);
      if (state.type === "fulfilled") {
        if (!state.notAPromise) state.value.dispose();
        this.#runJobs();
        return;
      }
      if (state.type === "rejected") throw this.#failure(state.error);
      (await this.#drive(result.value)).dispose();
    } finally {
      if (result.value.alive) result.value.dispose();
    }
  }

  async invoke(name: string, args: string[], budget: Budget): Promise<string> {
    this.#calls++;
    try {
      return await this.#measured(() => this.#invoke(name, args, budget));
    } finally {
      this.#callEnded();
    }
  }

  async #invoke(name: string, args: string[], budget: Budget): Promise<string> {
    this.#begin(budget);
    const promise = this.#enter(() => this.#callGlobal(name, args));
    if (promise.error) throw this.#failure(promise.error);
    try {
      const value = await this.#drive(promise.value);
      try {
        // A limit reached at a check the code could catch (the prelude's) still fails the call.
        const limit = this.#limitError();
        if (limit) throw limit;
        if (this.#ctx.typeof(value) !== "string") throw new EngineError("the sandbox prelude returned a non-string", undefined, false);
        return this.#ctx.getString(value);
      } finally {
        value.dispose();
      }
    } finally {
      if (promise.value.alive) promise.value.dispose();
    }
  }

  /** Calls the global function `name` with string arguments; the caller owns the result's handle. */
  #callGlobal(name: string, args: string[]): ReturnType<QuickJSContext["callFunction"]> {
    const fn = this.#ctx.getProp(this.#ctx.global, name);
    const handles = args.map((a) => this.#ctx.newString(a));
    try {
      return this.#ctx.callFunction(fn, this.#ctx.undefined, ...handles);
    } finally {
      for (const h of handles) h.dispose();
      fn.dispose();
    }
  }

  callNested(name: string, args: string[]): string {
    if (!this.#meter.running || this.#dead || this.#disposed) throw new EngineError("a nested call can only be made while the sandbox's code runs", undefined, false);
    // Already inside #enter (the host call came from running code): its CPU count and crash handling cover this.
    const result = this.#callGlobal(name, args);
    if (result.error) throw this.#failure(result.error);
    try {
      if (this.#ctx.typeof(result.value) !== "string") throw new EngineError(`${name} returned a non-string`, undefined, false);
      return this.#ctx.getString(result.value);
    } finally {
      result.value.dispose();
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#abandoned) for (const deferred of this.#pending) deferred.dispose();
    this.#pending.clear();
    this.#wake?.();
    // Disposed while a call awaits the host: that call still holds handles; it frees the runtime as it unwinds.
    if (this.#calls === 0) this.#free();
  }

  #callEnded(): void {
    this.#calls--;
    if (this.#disposed && this.#calls === 0) this.#free();
  }

  #free(): void {
    if (!this.#abandoned) {
      try {
        this.#ctx.dispose();
        this.#rt.dispose();
      } catch {
        // QuickJS found leaked objects (seen after an interrupt at an unlucky point): stop trusting this shard.
        retireShard(this.#shard);
      }
    }
    this.#release();
  }
}
