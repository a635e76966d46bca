import { HANDLE } from "../agent/agent-base.ts";
import { RUNTIME, type AgentContextWithRuntime } from "../agent/runtime.ts";
import { DurableObjectActor, type DurableObjectConstructor, type DurableObjectHandlers } from "../durable-object/actor.ts";
import type { AlarmInvocationInfo } from "../durable-object/alarm.ts";
import type { DurableObjectNamespace } from "../durable-object/namespace.ts";
import type { DurableObjectState } from "../durable-object/state.ts";
import type { Actor } from "../host/actor.ts";
import { LIMITS } from "../limits.ts";
import { DURABLE_OBJECT_PRELUDE } from "./durable-object-prelude.ts";
import { durableObjectOps, type DurableObjectOps } from "./durable-object-ops.ts";
import type { SandboxEngine } from "./engine.ts";
import type { WorkerCode } from "./loader.ts";
import { WorkerError } from "./worker-error.ts";
import { Sandbox, type RunResult, type SandboxLimits } from "./sandbox.ts";
import { fromWireResponse, toWireRequest, type WireMessage } from "./wire.ts";
import { requireJson } from "./loaded-json.ts";

/** What a facet of a class loaded from code is made from (`getDurableObjectClass(exportName, { props, limits })`). */
export interface LoadedObjectSpec {
  /** The loader id of the worker (`env.LOADER.get(id, …)`), for messages. */
  readonly workerId: string;
  /** The class's export name in the worker's main module ("default" for `export default class`). */
  readonly exportName: string;
  /** The worker's code; the loader runs its factory once per id. */
  readonly code: () => Promise<WorkerCode>;
  /** `ctx.props` inside (JSON). */
  readonly props: unknown;
  /** Overrides the code's own `limits`. */
  readonly limits: SandboxLimits | undefined;
  readonly engine: SandboxEngine | undefined;
}

/** What an event of the object answers: its result and how many waitUntil() promises wait to be drained. */
interface EventAnswer {
  r?: unknown;
  w: number;
}

/** Methods the runtime calls itself; RPC never reaches them (the actor refuses them too). */
const HOST_HANDLERS = new Set(["fetch", "alarm", "webSocketMessage", "webSocketClose", "webSocketError", "constructor", "then"]);

/** The actor never asks a facet's namespace (a facet always has its id from its parent). */
const NO_NAMESPACE = { nameOf: () => undefined } as unknown as DurableObjectNamespace;

/** One live instance of a class loaded from code: a plain Durable Object actor over an object that lives in a sandbox. */
export function createLoadedActor(spec: LoadedObjectSpec, ctx: AgentContextWithRuntime, env: Record<string, unknown>): Actor {
  const runtime = ctx[RUNTIME];
  let object: SandboxedObject | undefined;
  // The actor constructs its object with `new ctor(state, env)`; ours stands in for the one in the sandbox.
  const ctor = class {
    constructor(state: DurableObjectState) {
      object = new SandboxedObject(spec, state, durableObjectOps({ storage: state.storage, db: runtime.db }), () => runtime.keepAlive());
      return object.handlers;
    }
  } as unknown as DurableObjectConstructor;
  return new LoadedObjectActor(ctor, ctx, env, () => object?.dispose());
}

/** A plain Durable Object actor that also stops the sandbox when the instance leaves memory. */
class LoadedObjectActor extends DurableObjectActor {
  readonly #unload: () => void;

  constructor(ctor: DurableObjectConstructor, ctx: AgentContextWithRuntime, env: Record<string, unknown>, unload: () => void) {
    super(ctor, ctx, env, NO_NAMESPACE);
    this.#unload = unload;
  }

  override [HANDLE.unload](): void {
    try {
      super[HANDLE.unload]();
    } finally {
      this.#unload();
    }
  }
}

/**
 * The host's stand-in for an object living in a sandbox: `fetch`, `alarm` and every other method
 * name become sandbox calls (one call per event, under the sandbox's CPU, memory and wall-clock
 * limits). A call stopped by a limit fails; the next one starts a fresh sandbox and constructs the
 * object again over the same storage.
 */
class SandboxedObject {
  readonly handlers: DurableObjectHandlers & Record<string, unknown>;
  readonly #spec: LoadedObjectSpec;
  readonly #state: DurableObjectState;
  readonly #ops: DurableObjectOps;
  readonly #keepAlive: () => () => void;
  readonly #label: string;
  #sandbox: Promise<Sandbox> | undefined;
  /** The sandbox #sandbox resolved to, once started. */
  #live: Sandbox | undefined;
  #shape: { fetch: boolean; alarm: boolean } | undefined;
  /** Held while an alarm is pending: the sandbox's code can only be started again by the parent. */
  #alarmHold: (() => void) | undefined;
  #disposed = false;

  constructor(spec: LoadedObjectSpec, state: DurableObjectState, ops: DurableObjectOps, keepAlive: () => () => void) {
    this.#spec = spec;
    this.#state = state;
    this.#keepAlive = keepAlive;
    this.#ops = ops;
    this.#label = `${spec.exportName} of worker ${spec.workerId} (${state.id.name ?? String(state.id)})`;
    this.handlers = this.#handlers();
    // Start-up waits for this: a failure fails the facet's start, and the calls queued for it.
    void state.blockConcurrencyWhile(() => this.#ready().then(() => undefined));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#alarmHold?.();
    this.#alarmHold = undefined;
    this.#ops.endEvent();
    void this.#sandbox?.then((sandbox) => sandbox.dispose(), () => undefined);
    this.#sandbox = undefined;
    this.#live = undefined;
  }

  #handlers(): DurableObjectHandlers & Record<string, unknown> {
    const fetch = (request: Request) => this.#fetch(request);
    const alarm = (info?: AlarmInvocationInfo) => this.#event("alarm", { retryCount: info?.retryCount ?? 0, isRetry: info?.isRetry ?? false });
    return new Proxy({} as DurableObjectHandlers & Record<string, unknown>, {
      get: (_target, key) => {
        if (typeof key !== "string") return undefined;
        if (key === "fetch") return this.#shape?.fetch ? fetch : undefined;
        if (key === "alarm") return this.#shape?.alarm ? alarm : undefined;
        if (HOST_HANDLERS.has(key)) return undefined;
        // Inherited names stay what every object has; the actor refuses them as RPC methods.
        if (key in Object.prototype) return (Object.prototype as unknown as Record<string, unknown>)[key];
        return (...args: unknown[]) => this.#call(key, args);
      },
    });
  }

  async #fetch(request: Request): Promise<Response> {
    const wire = await toWireRequest(request);
    return fromWireResponse((await this.#event("fetch", wire)) as WireMessage);
  }

  async #call(method: string, args: unknown[]): Promise<unknown> {
    args.forEach((arg, i) => requireJson(arg, `argument ${i + 1}`, `RPC to ${method}()`));
    return this.#event("call", { m: method, a: args });
  }

  #ready(): Promise<Sandbox> {
    if (this.#disposed) return Promise.reject(new Error(`${this.#label} was stopped`));
    if (!this.#sandbox) {
      const starting = this.#start();
      this.#sandbox = starting;
      starting.catch(() => {
        if (this.#sandbox === starting) this.#sandbox = undefined;
      });
    }
    return this.#sandbox;
  }

  /** A fresh sandbox with the worker's code loaded and the object constructed in it. */
  async #start(): Promise<Sandbox> {
    const spec = this.#spec;
    const code = await spec.code();
    const extension = { name: "do", source: DURABLE_OBJECT_PRELUDE, sync: this.#ops.sync, async: this.#ops.async };
    const sandbox = await Sandbox.create({
      // An event's result (an RPC result, a fetch response) may be as large as any host call.
      maxOutputBytes: LIMITS.maxHostCallBytes,
      ...code.limits,
      ...spec.limits,
      env: code.env,
      globalOutbound: code.globalOutbound ?? null,
      extension,
      ...(spec.engine ? { engine: spec.engine } : {}),
    });
    try {
      await sandbox.load(code.modules, code.mainModule);
      this.#shape = this.#unwrap(await sandbox.extensionCall<{ fetch: boolean; alarm: boolean }>("describe", JSON.stringify({ className: spec.exportName })));
      const id = this.#state.id;
      const construct = JSON.stringify({ className: spec.exportName, id: String(id), name: id.name ?? null, props: spec.props ?? null });
      const constructed = await sandbox.extensionCall<EventAnswer>("construct", construct);
      this.#ops.endEvent();
      await this.#after(this.#unwrap(constructed));
      this.#live = sandbox;
      return sandbox;
    } catch (error) {
      this.#ops.endEvent();
      sandbox.dispose();
      throw error;
    }
  }

  /** One event in the sandbox: its answer, or its error (a limit stops the sandbox; the next event gets a fresh one). */
  async #event(op: string, payload: unknown): Promise<unknown> {
    const sandbox = await this.#ready();
    let result: RunResult<EventAnswer>;
    try {
      result = await sandbox.extensionCall<EventAnswer>(op, JSON.stringify(payload));
    } finally {
      // A transaction it left open is dropped now: it holds the object's input gate, so the next
      // event (where the sandbox would drop it) could not start.
      this.#ops.endEvent();
      this.#dropIfStopped(sandbox);
    }
    const answer = this.#unwrap(result);
    await this.#after(answer);
    return answer.r;
  }

  #unwrap<T>(result: RunResult<T>): T {
    for (const { level, message } of result.logs) console[level](`[hearth] ${this.#label}: ${message}`);
    if (result.error) throw new WorkerError(result.error.name, result.error.message, result.error.limit);
    return result.result as T;
  }

  /** After an event: drain its waitUntil() promises in a call of their own; hold or release for the alarm. */
  async #after(answer: EventAnswer): Promise<void> {
    if (answer.w > 0) this.#state.waitUntil(this.#event("drain", {}));
    await this.#holdWhileAlarmPending();
  }

  /** A sandbox stopped by a limit is dropped (its event's open transactions are gone already: #event ends them); the next event starts a fresh one. */
  #dropIfStopped(sandbox: Sandbox): void {
    if (sandbox.alive) return;
    sandbox.dispose();
    if (this.#live === sandbox) {
      this.#live = undefined;
      this.#sandbox = undefined;
    }
  }

  /**
   * A facet whose code was loaded at run time can only be started again by its parent (the host
   * does not have the code), so while its alarm is pending it stays in memory to receive it.
   */
  async #holdWhileAlarmPending(): Promise<void> {
    if (!this.#shape?.alarm || this.#disposed) return;
    const pending = (await this.#state.storage.getAlarm()) !== null;
    if (pending && !this.#alarmHold) this.#alarmHold = this.#keepAlive();
    else if (!pending && this.#alarmHold) {
      this.#alarmHold();
      this.#alarmHold = undefined;
    }
  }
}
