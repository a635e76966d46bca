import { answerUnlessAborted } from "./abortable-fetch.ts";
import type { Agent } from "../platform/agent.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import type { ActorDispatcher } from "./actor.ts";
import { validateAgentName } from "./names.ts";
import { isWebSocketUpgrade, upgradeResponse } from "./upgrade.ts";
import { copyAcross, copyArguments } from "./copy.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { checkRoutingRetry, type RoutingRetryOptions } from "./routing-retry.ts";

/** What a namespace needs from the host to reach an agent. */
export type AgentDispatcher = ActorDispatcher;

type Method = (...args: never[]) => unknown;
type LifecycleHook =
  | "onStart"
  | "onRequest"
  | "onConnect"
  | "onMessage"
  | "onClose"
  | "onError"
  | "onStateChanged"
  | "onStateUpdate"
  | "onEmail"
  | "onFiberRecovered";

/**
 * A typed handle on one agent instance. Every method of the agent is available and returns a
 * promise; arguments and results are copied (structured clone), as across a network boundary.
 * @example
 * const counter = await getAgentByName(env.Counter, "room-1");
 * await counter.increment(2);
 * const res = await counter.fetch("http://agent/anything");
 */
export type AgentStub<T extends Agent = Agent> = {
  [K in keyof T as K extends string ? (T[K] extends Method ? (K extends LifecycleHook ? never : K) : never) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
} & {
  /** The agent's id, as `idFromName(name)` gives it (a Durable Object stub's `id`). */
  readonly id: AgentId;
  readonly name: string;
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
};

/** An id handle, as Durable Objects' `idFromName` returns. */
export interface AgentId {
  readonly name: string;
  toString(): string;
}

export const NAMESPACE_BRAND: unique symbol = Symbol.for("hearth.namespace");
/** A stub's address, for helpers that reach through it (sub-agent routing): `stub[STUB_ADDRESS]`. */
export const STUB_ADDRESS: unique symbol = Symbol.for("hearth.stubAddress");

/** Where a stub points: a root agent, and the sub-agent path below it (empty for the root itself). */
export interface StubAddress {
  readonly dispatcher: AgentDispatcher;
  readonly className: string;
  readonly name: string;
  readonly steps: ReadonlyArray<{ readonly className: string; readonly name: string; readonly cls?: unknown }>;
}
const START: unique symbol = Symbol("hearth.start");

/**
 * The `env` binding of one agent class (like a Durable Object namespace): `env.Counter`.
 * @example
 * const stub = env.Counter.getByName("alice");
 */
export class AgentNamespace<T extends Agent = Agent> {
  readonly [NAMESPACE_BRAND] = true;
  /** The class's binding name, e.g. "ChatRoom". */
  readonly className: string;
  /** The URL segment, e.g. "chat-room". */
  readonly slug: string;
  /** The agent class this binding serves. */
  readonly agentClass: abstract new (...args: never[]) => T;
  readonly #dispatcher: AgentDispatcher;

  /** @internal Created by the host. */
  constructor(dispatcher: AgentDispatcher, className: string, slug: string, agentClass: abstract new (...args: never[]) => T) {
    this.#dispatcher = dispatcher;
    this.className = className;
    this.slug = slug;
    this.agentClass = agentClass;
  }

  /**
   * True when the agent `name` is in memory or has storage; does not create it (a stub would).
   * @example
   * if (!env.Sessions.exists(id)) return new Response("Unknown session", { status: 404 });
   */
  exists(name: string): boolean {
    return this.#dispatcher.exists(this.className, validateAgentName(name));
  }

  /**
   * Like {@link exists}, for agents wherever they live: on a cluster node, also an agent another node
   * holds (asked of the cluster's Postgres). Does not create it.
   * @example
   * if (!(await env.Sessions.known(id))) return new Response("Unknown session", { status: 404 });
   */
  known(name: string): Promise<boolean> {
    const checked = validateAgentName(name);
    return this.#dispatcher.existsAnywhere?.(this.className, checked) ?? Promise.resolve(this.#dispatcher.exists(this.className, checked));
  }

  /** @internal Starts the agent (see {@link getAgentByName}). */
  [START](name: string, props?: Record<string, unknown>): Promise<void> {
    return this.#dispatcher.start(this.className, validateAgentName(name), props);
  }

  idFromName(name: string): AgentId {
    validateAgentName(name);
    return { name, toString: () => `${this.slug}/${name}` };
  }

  get(id: AgentId | string): AgentStub<T> {
    return this.getByName(typeof id === "string" ? id : id.name);
  }

  getByName(name: string): AgentStub<T> {
    validateAgentName(name);
    const dispatcher = this.#dispatcher;
    const className = this.className;
    const fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      // A WebSocket upgrade becomes this agent's connection when the worker returns the response.
      if (isWebSocketUpgrade(request)) {
        request.signal.throwIfAborted();
        return upgradeResponse({ className, name, request });
      }
      return answerUnlessAborted(request, () => dispatcher.request(className, name, request));
    };
    const address: StubAddress = { dispatcher, className, name, steps: [] };
    const slug = this.slug;
    let id: AgentId | undefined; // made when read: most stubs never are (the name is checked already)
    return new Proxy({} as AgentStub<T>, {
      get(_target, property) {
        if (property === "fetch") return fetch;
        if (property === "name") return name;
        if (property === "id") return (id ??= { name, toString: () => `${slug}/${name}` });
        if (property === STUB_ADDRESS) return address;
        // Not thenable: `await getAgentByName(...)` must yield the stub itself.
        if (typeof property !== "string" || property === "then") return undefined;
        return async (...args: unknown[]) =>
          copyAcross(await dispatcher.invoke(className, name, property, copyArguments(args), callerOfCurrentScope()));
      },
    });
  }
}

export function isAgentNamespace(value: unknown): value is AgentNamespace {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[NAMESPACE_BRAND] === true;
}

/**
 * The binding of the agent class a URL's `/sub/{segment}/` names among a worker's `exports`: by its
 * binding name, its storage slug or the binding in kebab case; undefined when none does ("sub", the
 * separator itself, is never a class).
 */
export function agentClassOfSegment(exports: Record<string, unknown>, segment: string): string | undefined {
  for (const [binding, value] of Object.entries(exports)) {
    if (!isAgentNamespace(value)) continue;
    const kebab = camelCaseToKebabCase(binding);
    if (kebab === "sub") continue;
    if (binding === segment || value.slug === segment || kebab === segment) return binding;
  }
  return undefined;
}

/** Options of `getAgentByName`. Cloudflare's placement options (`locationHint`, `jurisdiction`) are accepted and ignored: one host. */
export interface GetAgentOptions {
  /** Passed to the agent's `onStart(props)` when this call starts it. */
  props?: Record<string, unknown>;
  locationHint?: string;
  jurisdiction?: string;
  /** The Agents SDK's retry policy: checked as the SDK checks it, no retry of its own (routing-retry.ts). */
  routingRetry?: false | RoutingRetryOptions;
}

/**
 * A stub for the agent `name` of a class. With `options.props`, the agent is started (its onStart has
 * run) when the promise resolves, and a start caused by this call receives the props.
 * @example
 * const counter = await getAgentByName(env.Counter, "alice");
 * const total = await counter.increment(1);
 * const tenant = await getAgentByName(env.Tenant, id, { props: { plan: "pro" } });
 */
export async function getAgentByName<T extends Agent>(namespace: AgentNamespace<T>, name: string, options?: GetAgentOptions): Promise<AgentStub<T>> {
  if (!isAgentNamespace(namespace)) {
    throw new TypeError("getAgentByName: the first argument must be an agent binding from env, e.g. env.Counter");
  }
  checkRoutingRetry(options?.routingRetry);
  const stub = namespace.getByName(name);
  // Without props nothing needs to happen now: the first call starts the agent (and a stub to an
  // agent's own name, taken inside its onStart, must not wait for that onStart).
  if (options?.props !== undefined) await namespace[START](name, options.props);
  return stub;
}
