/**
 * The QuickJS engine (quickjs-emscripten, release-sync WebAssembly build shipped in the npm package:
 * nothing is compiled or downloaded at install or run time).
 *
 * One QuickJS runtime + context per sandbox (~90 KB of heap). Runtimes live inside shared WebAssembly
 * module instances ("shards"): a shard takes sandboxes while the sum of their memory limits stays
 * under SHARD_COMMIT_BYTES, so one sandbox can always grow to its own limit (WebAssembly memory is
 * capped at 2 GiB per instance). The compiled WebAssembly.Module is shared by all shards.
 *
 * Native stack: WebAssembly frames live on Node's own stack, which QuickJS's stack check does not
 * see. Code nested deeply enough (parser recursion, JSON of deeply nested arrays) can overflow it,
 * and V8 then throws a RangeError out of the middle of QuickJS. We restore the module's shadow stack
 * pointer, abandon that runtime (its memory is leaked until the shard goes away) and retire the shard:
 * it takes no new sandboxes and is dropped when its last sandbox is disposed. A trap of the module
 * itself (WebAssembly.RuntimeError) stops every sandbox of that shard with an error.
 */
import { posix } from "node:path";
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from "quickjs-emscripten-core";
import { LIMITS } from "../limits.ts";
import { threadCpuMs } from "./cpu-clock.ts";
import { isNativeStackOverflow, newQuickJSInstance, type StackOps } from "./quickjs-wasm.ts";
import { EngineError, type Budget, type EngineContext, type EngineContextOptions, type EngineHost, type LimitName, type SandboxEngine } from "./engine.ts";

/** Sum of the memory limits of the sandboxes in one WebAssembly instance (its memory maxes at 2 GiB). */
const SHARD_COMMIT_BYTES = 1024 * 1024 * 1024;
/** The prelude's request for a heap measurement (handled here, never passed to the host). */
const MEMORY_CHECK_OP = "memory";
/** How often a running sandbox's heap is measured against its memory limit, at an interrupt. */
const MEMORY_CHECK_INTERVAL_MS = 5;
/** Pending jobs run between two budget checks. */
const JOB_BATCH = 256;

interface Shard {
  module: QuickJSWASMModule;
  stack: StackOps | undefined;
  /** The instance's memory: its growth while a sandbox runs is that sandbox's allocation. */
  memory: WebAssembly.Memory | undefined;
  committed: number;
  contexts: Set<QuickJSEngineContext>;
  retired: boolean;
}

async function newShard(): Promise<Shard> {
  return { ...(await newQuickJSInstance()), committed: 0, contexts: new Set(), retired: false };
}

function normalizeName(name: string): string {
  return posix.normalize(name.replace(/^(\.\/|\/)+/, ""));
}

export class QuickJSEngine implements SandboxEngine {
  readonly name = "quickjs";
  readonly #shards: Shard[] = [];
  #opening: Promise<Shard> | undefined;

  async createContext(options: EngineContextOptions): Promise<EngineContext> {
    const shard = await this.#shardFor(options.memoryBytes);
    const context = new QuickJSEngineContext(shard, options, () => this.#release(shard, context, options.memoryBytes));
    shard.committed += options.memoryBytes;
    shard.contexts.add(context);
    return context;
  }

  /** Shards in use (for tests and benchmarks). */
  get shardCount(): number {
    return this.#shards.length;
  }

  async #shardFor(memoryBytes: number): Promise<Shard> {
    for (;;) {
      const fit = this.#shards.find((s) => !s.retired && (s.committed + memoryBytes <= SHARD_COMMIT_BYTES || s.contexts.size === 0));
      if (fit) return fit;
      if (!this.#opening) {
        this.#opening = newShard().then(
          (shard) => {
            this.#shards.push(shard);
            this.#opening = undefined;
            return shard;
          },
          (error: unknown) => {
            this.#opening = undefined;
            throw error;
          },
        );
      }
      await this.#opening;
    }
  }

  #release(shard: Shard, context: QuickJSEngineContext, memoryBytes: number): void {
    if (!shard.contexts.delete(context)) return;
    shard.committed -= memoryBytes;
    if (shard.retired && shard.contexts.size === 0) {
      const i = this.#shards.indexOf(shard);
      if (i >= 0) this.#shards.splice(i, 1);
    }
  }

  /** Called when a shard can no longer be trusted with new sandboxes. */
  static retire(shard: Shard): void {
    shard.retired = true;
  }
}

class QuickJSEngineContext implements EngineContext {
  readonly #shard: Shard;
  readonly #host: EngineHost;
  readonly #memoryBytes: number;
  readonly #release: () => void;
  readonly #rt: QuickJSRuntime;
  readonly #ctx: QuickJSContext;
  readonly #pending = new Set<QuickJSDeferredPromise>();
  readonly #modules = new Map<string, string>();
  #wake: (() => void) | undefined;
  #running = false;
  #enteredAt = 0;
  #cpuUsed = 0;
  #budget: Budget | undefined;
  #stopReason: LimitName | undefined;
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
    this.#rt = shard.module.newRuntime();
    this.#rt.setMemoryLimit(options.memoryBytes);
    this.#rt.setMaxStackSize(LIMITS.sandboxStackBytes);
    this.#rt.setInterruptHandler(() => this.#shouldInterrupt());
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
        this.#checkMemory();
        return ctx.undefined;
      }
      const answer = this.#host.syncCall(op, payload);
      return answer === undefined ? ctx.undefined : ctx.newString(answer);
    });
    const async = ctx.newFunction("__hearth_async", (...args) => {
      const [op, payload] = strings(args);
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

  #shouldInterrupt(): boolean {
    const budget = this.#budget;
    if (!this.#running || !budget) return false;
    const now = performance.now();
    if (this.#cpuUsed + (threadCpuMs() - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
    else if (now > budget.deadline) this.#stopReason = "wallMs";
    else if (now >= this.#nextMemoryCheck) {
      this.#nextMemoryCheck = now + MEMORY_CHECK_INTERVAL_MS;
      if (this.#overMemory()) this.#stopReason = "memoryBytes";
    }
    return this.#stopReason !== undefined;
  }

  #nextMemoryCheck = 0;

  /**
   * This QuickJS build cannot read malloc's usable sizes, so its own limit sees each allocation
   * alone: a loop of large strings passes it. Two measures instead: the heap walk (what the
   * sandbox's objects hold; it misses strings built by concatenation), and how much the instance's
   * memory grew while this sandbox ran during this call (everything it allocated and kept).
   */
  #overMemory(): boolean {
    const memory = this.#shard.memory;
    const grown = memory && this.#running ? this.#grown + (memory.buffer.byteLength - this.#heapAtEnter) : this.#grown;
    return grown > this.#memoryBytes || this.memoryUsage > this.#memoryBytes;
  }

  /**
   * Called by the prelude after every MiB of new buffers and strings, where QuickJS's interrupt
   * (every 10,000 bytecodes) may be far off: measures the heap and the call's CPU and wall clock;
   * over a limit, the run stops (the call then fails with that limit).
   */
  #checkMemory(): void {
    const budget = this.#budget;
    if (this.#stopReason === undefined && budget) {
      if (this.#overMemory()) this.#stopReason = "memoryBytes";
      else if (this.#cpuUsed + (threadCpuMs() - this.#enteredAt) > budget.cpuMs) this.#stopReason = "cpuMs";
      else if (performance.now() > budget.deadline) this.#stopReason = "wallMs";
    }
    if (this.#stopReason === "memoryBytes") throw new Error("out of memory");
    if (this.#stopReason !== undefined) throw new Error(`the call was stopped (${this.#stopReason})`);
  }

  /** Bytes the instance's memory grew while this sandbox ran in the current call (before the current entry). */
  #grown = 0;
  /** The instance's memory size when the current entry began. */
  #heapAtEnter = 0;

  /** Runs `fn` inside the engine, counting its time against the budget and containing native crashes. */
  #enter<T>(fn: () => T): T {
    if (this.#dead) throw this.#dead;
    if (this.#disposed) throw new EngineError("the sandbox was disposed", undefined, true);
    const sp = this.#shard.stack?.save();
    this.#running = true;
    this.#enteredAt = threadCpuMs();
    const memory = this.#shard.memory;
    this.#heapAtEnter = memory ? memory.buffer.byteLength : 0;
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
        QuickJSEngine.retire(this.#shard);
        for (const context of this.#shard.contexts) context.#abandon(dead);
        throw dead;
      }
      throw error;
    } finally {
      this.#running = false;
      this.#cpuUsed += threadCpuMs() - this.#enteredAt;
      if (memory) this.#grown += memory.buffer.byteLength - this.#heapAtEnter;
    }
  }

  #abandon(error: EngineError): void {
    this.#abandoned = true;
    this.#dead ??= error;
    QuickJSEngine.retire(this.#shard);
    this.#pending.clear();
    this.#wake?.();
  }

  #limitError(): EngineError | undefined {
    const reason = this.#stopReason;
    if (!reason) return undefined;
    const budget = this.#budget!;
    const message =
      reason === "cpuMs"
        ? `CPU budget of ${budget.cpuMs} ms exceeded (cpuMs)`
        : reason === "memoryBytes"
          ? `memory limit of ${mib(this.#memoryBytes)} exceeded (memoryBytes)`
          : `wall-clock timeout of ${Math.round(budget.deadline - this.#callStart)} ms (wallMs)`;
    return (this.#dead = new EngineError(message, reason, true));
  }

  #callStart = 0;

  #begin(budget: Budget): void {
    if (this.#dead) throw this.#dead;
    this.#budget = budget;
    this.#cpuUsed = 0;
    this.#grown = 0;
    this.#stopReason = undefined;
    this.#callStart = performance.now();
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
      const dumped: unknown = this.#ctx.dump(handle);
      if (dumped && typeof dumped === "object") {
        const d = dumped as { name?: unknown; message?: unknown };
        name = typeof d.name === "string" ? d.name : name;
        message = typeof d.message === "string" ? d.message : JSON.stringify(dumped);
      } else message = String(dumped);
    } catch {
      message = "out of memory";
    } finally {
      handle.dispose();
    }
    if (message === "out of memory") return (this.#dead = new EngineError(`memory limit of ${mib(this.#memoryBytes)} exceeded (memoryBytes)`, "memoryBytes", true));
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
      if (this.#cpuUsed > this.#budget!.cpuMs) {
        this.#stopReason = "cpuMs";
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
      const remaining = this.#budget!.deadline - performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(false);
        timer = setTimeout(() => resolve(true), Math.max(0, remaining));
      });
      clearTimeout(timer);
      this.#wake = undefined;
      if (this.#dead) throw this.#dead;
      if (timedOut) {
        this.#stopReason = "wallMs";
        throw this.#limitError()!;
      }
    }
  }

  async evalScript(source: string, filename: string, budget: Budget): Promise<void> {
    this.#begin(budget);
    const result = this.#enter(() => this.#ctx.evalCode(source, filename, { type: "global" }));
    if (result.error) throw this.#failure(result.error);
    result.value.dispose();
  }

  async evalModule(source: string, filename: string, modules: Record<string, string>, budget: Budget): Promise<void> {
    this.#calls++;
    try {
      await this.#evalModule(source, filename, modules, budget);
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
      return await this.#invoke(name, args, budget);
    } finally {
      this.#callEnded();
    }
  }

  async #invoke(name: string, args: string[], budget: Budget): Promise<string> {
    this.#begin(budget);
    const promise = this.#enter(() => {
      const fn = this.#ctx.getProp(this.#ctx.global, name);
      const handles = args.map((a) => this.#ctx.newString(a));
      try {
        return this.#ctx.callFunction(fn, this.#ctx.undefined, ...handles);
      } finally {
        for (const h of handles) h.dispose();
        fn.dispose();
      }
    });
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

  callNested(name: string, args: string[]): string {
    if (!this.#running || this.#dead || this.#disposed) throw new EngineError("a nested call can only be made while the sandbox's code runs", undefined, false);
    // Already inside #enter (the host call came from running code): its CPU count and crash handling cover this.
    const result = (() => {
      const fn = this.#ctx.getProp(this.#ctx.global, name);
      const handles = args.map((a) => this.#ctx.newString(a));
      try {
        return this.#ctx.callFunction(fn, this.#ctx.undefined, ...handles);
      } finally {
        for (const h of handles) h.dispose();
        fn.dispose();
      }
    })();
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
        QuickJSEngine.retire(this.#shard);
      }
    }
    this.#release();
  }
}

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

let shared: QuickJSEngine | undefined;
/** The process-wide QuickJS engine. */
export function quickJSEngine(): QuickJSEngine {
  return (shared ??= new QuickJSEngine());
}
