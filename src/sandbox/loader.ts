/**
 * WorkerLoader: Dynamic Workers' `env.LOADER`. `get(id, factory)` returns a stub at once; the first
 * use runs the factory and loads the code into a sandbox, which is then kept warm for that id and
 * reused. At most `maxWarmWorkers` (default 256, LIMITS.maxWarmWorkers) are kept; above it the
 * least recently used is disposed and a later use of its id runs the factory again. A worker stopped
 * by a limit (CPU, memory, wall clock) is dropped too, so the next call starts a fresh one.
 *
 * `getDurableObjectClass(name)` gives a class for a facet: every facet made from it gets a sandbox
 * of its own (not the warm one), loaded from the same code (the factory's result is kept per id).
 */
import { loadedDurableObjectClass, type DurableObjectClassOptions, type LoadedDurableObjectClass } from "./loaded-class.ts";
import { LIMITS } from "../limits.ts";
import { Sandbox, SandboxError, type OutboundHandler, type SandboxLimits, type SandboxOptions } from "./sandbox.ts";
import type { SandboxEngine } from "./engine.ts";
import { WorkerError } from "./worker-error.ts";

export { WorkerError };

export interface WorkerCode {
  mainModule: string;
  modules: Record<string, string>;
  env?: Record<string, unknown>;
  globalOutbound?: OutboundHandler | null;
  limits?: SandboxLimits;
}

export interface WorkerEntrypoint {
  /** Sends a request to the main module's `export default { fetch(request, env, ctx) }`. */
  fetch(request: Request): Promise<Response>;
  /** Calls an exported function (or a method of the default export); throws the sandbox's error. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  /** Any other property: `entrypoint.someMethod(...args)` is `call("someMethod", ...args)`. */
  [method: string]: unknown;
}

export interface WorkerStub {
  readonly id: string;
  getEntrypoint(): WorkerEntrypoint;
  /**
   * A Durable Object class the worker's main module exports (`name`, default "default": its
   * `export default class`), for `ctx.facets.get(name, () => ({ class }))`. `props` become the
   * instances' `ctx.props`; `limits` override the code's sandbox limits.
   * @example
   * const worker = env.LOADER.get(`app-${version}`, () => ({ mainModule: "app.js", modules: { "app.js": source } }));
   * const app = this.ctx.facets.get("app", () => ({ class: worker.getDurableObjectClass("App", { props: { owner } }) }));
   * await app.addNote("hello");
   */
  getDurableObjectClass(name?: string, options?: DurableObjectClassOptions): LoadedDurableObjectClass;
}

export interface WorkerLoaderOptions {
  /** Loaded workers kept warm. Default 256. */
  maxWarmWorkers?: number;
  /** The engine of every sandbox this loader starts; default the process-wide worker pool (a warm worker keeps its thread). */
  engine?: SandboxEngine;
}

interface Warm {
  factory: () => Promise<WorkerCode> | WorkerCode;
  sandbox: Promise<Sandbox> | undefined;
  /** The factory's result, kept for the Durable Object classes made from this worker. */
  code: Promise<WorkerCode> | undefined;
}

export class WorkerLoader {
  readonly maxWarmWorkers: number;
  readonly #engine: SandboxEngine | undefined;
  /** Loaded workers in least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  readonly #warm = new Map<string, Warm>();

  constructor(options: WorkerLoaderOptions = {}) {
    const max = options.maxWarmWorkers ?? LIMITS.maxWarmWorkers;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxWarmWorkers must be a positive integer, got ${String(max)}`);
    this.maxWarmWorkers = max;
    this.#engine = options.engine;
  }

  /** Workers currently loaded (warm). */
  get size(): number {
    return this.#warm.size;
  }

  get(id: string, factory: () => Promise<WorkerCode> | WorkerCode): WorkerStub {
    if (typeof id !== "string" || id.length === 0) throw new TypeError("a worker id must be a non-empty string");
    if (typeof factory !== "function") throw new TypeError("get(id, factory): factory must be a function");
    const sandbox = (): Promise<Sandbox> => this.#sandbox(id, factory);
    return {
      id,
      getEntrypoint: () => entrypoint(sandbox, (s) => this.#dropIfStopped(id, s)),
      getDurableObjectClass: (name = "default", options = {}) => loadedDurableObjectClass(id, name, () => this.#code(id, factory), options, this.#engine),
    };
  }

  /** Disposes every warm worker. */
  close(): void {
    for (const warm of this.#warm.values()) void warm.sandbox?.then((s) => s.dispose(), () => undefined);
    this.#warm.clear();
  }

  /** The worker's entry, most recently used now (made, and older ones evicted, if missing). */
  #touch(id: string, factory: Warm["factory"]): Warm {
    let warm = this.#warm.get(id);
    if (warm) {
      this.#warm.delete(id);
      this.#warm.set(id, warm);
    } else {
      warm = { factory, sandbox: undefined, code: undefined };
      this.#warm.set(id, warm);
      this.#evict();
    }
    return warm;
  }

  /** The worker's code: the factory runs once per id (again after a failure or an eviction). */
  #code(id: string, factory: Warm["factory"]): Promise<WorkerCode> {
    const warm = this.#touch(id, factory);
    if (!warm.code) {
      const code = Promise.resolve().then(warm.factory).then(checkCode);
      warm.code = code;
      code.catch(() => {
        if (warm.code === code) warm.code = undefined;
      });
    }
    return warm.code;
  }

  /**
   * The warm worker's sandbox, started if need be. One found stopped before the call (its worker
   * thread was stopped for another sandbox's stuck call while it was idle) is started again, once,
   * as after an eviction: what its module held in memory is gone.
   */
  async #sandbox(id: string, factory: Warm["factory"], again = false): Promise<Sandbox> {
    const warm = this.#touch(id, factory);
    const starting = (warm.sandbox ??= this.#start(warm));
    let sandbox: Sandbox;
    try {
      sandbox = await starting;
    } catch (error) {
      if (this.#warm.get(id) === warm) this.#warm.delete(id);
      throw error;
    }
    if (sandbox.alive || again) return sandbox;
    if (warm.sandbox === starting) warm.sandbox = undefined;
    sandbox.dispose();
    return this.#sandbox(id, factory, true);
  }

  async #start(warm: Warm): Promise<Sandbox> {
    const code = await (warm.code ?? Promise.resolve().then(warm.factory).then(checkCode));
    const options: SandboxOptions = { ...code.limits, env: code.env, globalOutbound: code.globalOutbound ?? null };
    if (this.#engine) options.engine = this.#engine;
    const sandbox = await Sandbox.create(options);
    try {
      await sandbox.load(code.modules, code.mainModule);
    } catch (error) {
      sandbox.dispose();
      throw error;
    }
    return sandbox;
  }

  #evict(): void {
    while (this.#warm.size > this.maxWarmWorkers) {
      const [oldest, warm] = this.#warm.entries().next().value!;
      this.#warm.delete(oldest);
      void warm.sandbox?.then((s) => s.dispose(), () => undefined);
    }
  }

  #dropIfStopped(id: string, sandbox: Sandbox): void {
    if (sandbox.alive) return;
    const warm = this.#warm.get(id);
    if (warm?.sandbox) {
      void warm.sandbox.then((s) => {
        if (s === sandbox && this.#warm.get(id) === warm) this.#warm.delete(id);
      });
    }
  }
}

function checkCode(code: WorkerCode): WorkerCode {
  if (!code || typeof code !== "object" || typeof code.mainModule !== "string" || !code.modules || typeof code.modules !== "object") {
    throw new TypeError("the worker factory must return { mainModule, modules, env?, globalOutbound? }");
  }
  return code;
}

function entrypoint(sandbox: () => Promise<Sandbox>, after: (s: Sandbox) => void): WorkerEntrypoint {
  const call = async <T>(method: string, ...args: unknown[]): Promise<T> => {
    const s = await sandbox();
    const result = await s.call<T>(method, args);
    after(s);
    if (result.error) throw new WorkerError(result.error.name, result.error.message, result.error.limit);
    return result.result as T;
  };
  const fetch = async (request: Request): Promise<Response> => {
    const s = await sandbox();
    try {
      return await s.fetch(request);
    } catch (error) {
      const e = error as Error & { limit?: string };
      throw error instanceof SandboxError ? error : new WorkerError(e.name, e.message, e.limit);
    } finally {
      after(s);
    }
  };
  const target = { fetch, call } as WorkerEntrypoint;
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key !== "string" || key in t) return Reflect.get(t, key, receiver) as unknown;
      if (key === "then") return undefined;
      return (...args: unknown[]) => call(key, ...args);
    },
  });
}
