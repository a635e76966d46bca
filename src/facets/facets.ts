import type { AgentRuntime } from "../agent/runtime.ts";
import type { ChildSpec } from "../host/children.ts";
import { actorStub, type ActorDelivery } from "../host/stub.ts";
import { checkFacetDepth, checkFacetName } from "./limits.ts";

/**
 * A class made from code loaded at run time (`env.LOADER.get(id, …).getDurableObjectClass(name)`): it
 * says how to make an instance, since the host has no registered class for it.
 */
export const LOADED_CLASS: unique symbol = Symbol.for("hearth.loadedClass") as never;

export interface LoadedClass {
  readonly [LOADED_CLASS]: Pick<ChildSpec, "className" | "create">;
}

/** What a facet's startup callback returns. */
export interface FacetStartupOptions {
  /** `ctx.exports.SomeClass`, or a class loaded from code. */
  class: unknown;
  /** What the facet sees as `ctx.id`; default: its parent's id. */
  id?: unknown;
}

/**
 * A handle on a facet: `fetch` and its public methods as RPC (arguments and results structured-cloned).
 * After `abort` or `delete`, calls through it throw the reason.
 */
export type FacetStub<T = unknown> = {
  [K in keyof T as K extends FacetHandler ? never : NonNullable<T[K]> extends Method ? K : never]: NonNullable<T[K]> extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
} & { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };

type Method = (...args: never[]) => unknown;
/** Handlers the runtime calls (the base class declares them optional): not RPC methods; `fetch` has its own signature. */
type FacetHandler = "fetch" | "alarm" | "webSocketMessage" | "webSocketClose" | "webSocketError";

/**
 * `ctx.facets`: child Durable Objects created at run time inside this one, each with its own SQLite
 * database (invisible to the parent and its siblings), stored with the parent. Unlike Cloudflare's,
 * facets may set alarms and schedules of their own; they are delivered to them.
 * @example
 * const tenant = this.ctx.facets.get(`tenant-${id}`, () => ({ class: this.ctx.exports.TenantStore }));
 * await tenant.addNote("hello");
 * this.ctx.facets.abort(`tenant-${id}`, new Error("suspended"));   // data kept; get() restarts it
 * this.ctx.facets.delete(`tenant-${id}`);                         // data gone
 */
export class DurableObjectFacets {
  readonly #runtime: AgentRuntime;
  readonly #parentId: () => unknown;

  /** @internal Made by the Durable Object's state. */
  constructor(runtime: AgentRuntime, parentId: () => unknown) {
    this.#runtime = runtime;
    this.#parentId = parentId;
  }

  /**
   * A stub for the facet `name`. `getStartupOptions` runs only when the facet is not running (it never
   * started, hibernated, or was aborted), at the first call through the stub; it may name another
   * class than last time (a code update).
   */
  get<T = unknown>(name: string, getStartupOptions: () => FacetStartupOptions | Promise<FacetStartupOptions>): FacetStub<T> {
    checkFacetName(name);
    checkFacetDepth(this.#runtime.depth);
    if (typeof getStartupOptions !== "function") throw new TypeError("facets.get(name, getStartupOptions): getStartupOptions must be a function");
    const children = this.#runtime.children;
    const generation = children.generation(name);
    const spec = async (): Promise<ChildSpec> => {
      const options = await getStartupOptions();
      if (typeof options !== "object" || options === null) throw new TypeError("A facet's startup callback must return { class, id? }");
      return { ...classSpec(options.class, this.#runtime.exports), id: options.id ?? this.#parentId() };
    };
    // What every method taken from the stub keeps (not the stub itself): counted until it is collected.
    const deliver: ActorDelivery = (task) => children.deliver(name, generation, spec, task);
    children.stubMade(name, deliver);
    return actorStub(deliver) as FacetStub<T>;
  }

  /** Shuts the facet down; its data stays. Calls through existing stubs throw `reason`. */
  abort(name: string, reason?: unknown): void {
    this.#runtime.children.abort(checkFacetName(name), reason ?? new Error(`Facet ${name} was aborted.`));
  }

  /** Aborts the facet and deletes its data and its own facets' data. A later `get` starts empty. */
  delete(name: string): void {
    this.#runtime.children.delete(checkFacetName(name));
  }

  /** Replaces `dst`'s data with a copy of `src`'s (and of its facets); `dst` is aborted first. */
  clone(src: string, dst: string): void {
    this.#runtime.children.clone(checkFacetName(src), checkFacetName(dst));
  }
}

/** What `class` in a facet's startup options names: a class of this worker, or one loaded from code. */
function classSpec(value: unknown, exports: Record<string, unknown>): Pick<ChildSpec, "className" | "create"> {
  if (typeof value === "object" && value !== null || typeof value === "function") {
    const loaded = (value as Partial<LoadedClass>)[LOADED_CLASS];
    if (loaded) return loaded;
    for (const [binding, namespace] of Object.entries(exports)) {
      if (namespace === value) return { className: binding };
      const classOf = namespace as { objectClass?: unknown; agentClass?: unknown } | null;
      if (typeof classOf === "object" && classOf !== null && (classOf.objectClass === value || classOf.agentClass === value)) {
        return { className: binding };
      }
    }
  }
  throw new TypeError(
    "A facet's class must be a class of this worker (ctx.exports.SomeClass) or one loaded from code " +
      "(env.LOADER.get(id, …).getDurableObjectClass(name))",
  );
}
