import type { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import type { AgentCaller } from "../agent/context.ts";
import type { AgentContextWithRuntime } from "../agent/runtime.ts";
import type { AgentTasks } from "../schedule/agent-tasks.ts";
import type { CellPlace } from "./place.ts";

/**
 * One live actor as the host drives it: the entry points every event goes through. `Agent`
 * implements them itself; other kinds of actor (plain Durable Objects) adapt their class to them.
 */
export interface Actor {
  [HANDLE.start](props?: Record<string, unknown>): Promise<void>;
  [HANDLE.request](request: Request): Promise<Response>;
  [HANDLE.connect](record: SocketRecord, request: Request): Promise<void>;
  [HANDLE.message](record: SocketRecord, message: string | ArrayBuffer): Promise<void>;
  [HANDLE.close](record: SocketRecord, code: number, reason: string, wasClean: boolean): Promise<void>;
  [HANDLE.socketError]?(record: SocketRecord, error: unknown): Promise<void>;
  [HANDLE.invoke](method: string, args: unknown[], caller?: AgentCaller): Promise<unknown>;
  /**
   * Opens the child (sub-agent) `className`/`name` on the way to it: checks it (with the request that
   * asks, if it came from outside), creates it if needed, and names its facet — or answers the request.
   */
  [HANDLE.openChild]?(className: string | object, name: string, request?: Request): Promise<OpenedChild | Response>;
  [HANDLE.invalidate](): void;
  /** `ctx.storage.deleteAll()` is wiping the actor's storage (inside its transaction), children included. */
  [HANDLE.wiped]?(): void;
  [HANDLE.tasks](): AgentTasks;
  [HANDLE.unload](): void;
  [HANDLE.scoped]<T>(fn: () => T): T;
  onError(error: unknown): void | Promise<void>;
}

/** A child opened on the way to a sub-agent: its facet name, and the request to pass on. */
export interface OpenedChild {
  readonly facet: string;
  readonly request?: Request;
}

/** One step of a path to a sub-agent, root first. */
export interface ActorPathStep {
  readonly className: string;
  readonly name: string;
  /** The class itself, when the caller has it (bundlers may rename classes, so names can mislead). */
  readonly cls?: unknown;
  /**
   * The URL path the parent's `onBeforeSubAgent` sees for a request routed down this step (the query
   * kept); undefined: the request's own. A middle parent sees what is left below it, as in the SDK.
   */
  readonly requestPath?: string;
}

/** What the host tells an actor kind about one bound class. */
export interface ActorClassBinding {
  /** Binding (export) name, e.g. "Room". */
  readonly className: string;
  /** URL form of the binding name, e.g. "room". */
  readonly slug: string;
  /** The class's storage directory name: stable across binding renames (ids derive from it). */
  readonly storageSlug: string;
  readonly ctor: abstract new (...args: never[]) => unknown;
  /** Reaches the class's instances: requests, RPC, start-up. */
  readonly dispatcher: ActorDispatcher;
}

/** What a namespace needs from the host to reach an actor. */
export interface ActorDispatcher {
  /** Every actor class's namespace, bound or only exported (what actors see as `ctx.exports`), where the dispatcher knows it. */
  readonly exports?: Record<string, unknown>;
  request(className: string, name: string, request: Request): Promise<Response>;
  exists(className: string, name: string): boolean;
  /** Like `exists`, also for agents another host (a cluster node) holds: asked where they are known. */
  existsAnywhere?(className: string, name: string): Promise<boolean>;
  start(className: string, name: string, props?: Record<string, unknown>): Promise<void>;
  /**
   * The name the instance `name` (a Durable Object's id) was made from, told by the code that made
   * the id, for the host that runs it (its `ctx.id.name`); a hint, ahead of the calls that follow.
   */
  learnName?(className: string, name: string, idName: string): void;
  invoke(className: string, name: string, method: string, args: unknown[], caller?: AgentCaller): Promise<unknown>;
  /**
   * Runs `task` on the sub-agent at the end of `steps` below the root `className`/`name`, each parent
   * opening the next child (its `onBeforeSubAgent` sees `request` when one is given). A parent's answer
   * (a Response) comes back instead.
   */
  toSubAgent<T>(
    className: string,
    name: string,
    steps: readonly ActorPathStep[],
    request: Request | undefined,
    task: (actor: Actor, request: Request | undefined, place: CellPlace) => T | Promise<T>,
  ): Promise<T | Response>;
}

/**
 * How the host runs a kind of actor class other than Agent: the `env` binding it gets and how one
 * live instance is made. A base class names its kind with a static `[ACTOR_KIND]`.
 */
export interface ActorKind {
  /** `env[className]`: the class's namespace. */
  namespace(binding: ActorClassBinding): unknown;
  /** One live instance, from the host's context for it. */
  create(ctx: AgentContextWithRuntime, env: Record<string, unknown>, namespace: unknown): Actor;
}

export const ACTOR_KIND: unique symbol = Symbol.for("hearth.actorKind") as never;

/** The actor kind a class declares (through its base class), if any. */
export function actorKindOf(ctor: unknown): ActorKind | undefined {
  if (typeof ctor !== "function") return undefined;
  const kind = (ctor as unknown as Record<symbol, unknown>)[ACTOR_KIND];
  return typeof kind === "object" && kind !== null ? (kind as ActorKind) : undefined;
}
