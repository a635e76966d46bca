import { AsyncLocalStorage } from "node:async_hooks";
import type { Connection } from "./connection.ts";

/**
 * Who called an agent method through a stub: another agent (its class and instance name) or code
 * outside any agent (a worker's fetch, a test). Untrusted metadata: use it for logs and correlation,
 * never for authorization.
 */
export type AgentCaller = { readonly kind: "agent"; readonly className: string; readonly name: string } | { readonly kind: "external" };

/** What `getCurrentAgent()` returns: the agent whose event is running, and what that event came with. */
export interface CurrentAgent<T = unknown> {
  readonly agent: T | undefined;
  /** The WebSocket connection of the running event (a message, an RPC, onConnect/onClose). */
  readonly connection: Connection | undefined;
  /** The HTTP request of the running event (onRequest; onConnect's upgrade request). */
  readonly request: Request | undefined;
  /** The inbound email of the running event (onEmail). */
  readonly email: unknown;
  /** Set while handling a method call that arrived through a stub (`getAgentByName`). */
  readonly caller: AgentCaller | undefined;
}

interface Scope {
  readonly agent: object;
  /** The host's record of the agent (its runtime): the scope is that agent's own, whatever `agent` is. */
  readonly runtime: object;
  readonly className: string;
  readonly name: string;
  readonly connection?: Connection;
  readonly request?: Request;
  readonly email?: unknown;
  readonly caller?: AgentCaller;
}

/**
 * What one event runs in, followed across awaits: the host's event (host/event-context.ts: the owner
 * of its writes, its trace context), the context its sender's carrier captured, and the agent scope
 * inside it. One AsyncLocalStorage carries them all, so an event enters one context frame, not two or
 * three (a frame costs ~0.2–0.4 µs, a whole RPC ~2 µs).
 */
interface Frame {
  readonly event: object | undefined;
  /**
   * The context carried into the event (its sender's trace context), for what the event leaves
   * running once it dropped its own; undefined without one. Also kept by frames made inside the event.
   */
  readonly carried: unknown;
  /** When the frame's event began, in the order contexts are entered (host/event-context.ts `nextEntry`). */
  readonly entered: number;
  /** The runtime of the agent the event was delivered to: only that agent's scope may take the event's frame. */
  readonly owner: object | undefined;
  /** The owner's first scope in the event took this frame (put itself here instead of entering one). */
  claimed: boolean;
  scope: Scope | undefined;
}

const frames = new AsyncLocalStorage<Frame>();

/**
 * @internal Runs `fn` as the host's event `event` (host/event-context.ts `runEvent`), delivered to
 * `owner`, with no agent scope until one is entered: not the scope of whatever started it; `carried`
 * is the context its sender's carrier captured, `entered` when the event began.
 */
export function runInEventFrame<T>(event: object, owner: object | undefined, fn: () => T, carried?: unknown, entered = 0): T {
  return frames.run({ event, carried, entered, owner, claimed: false, scope: undefined }, fn);
}

/**
 * @internal Runs `fn` outside any event and agent scope, across its awaits: for work of no agent (a
 * workflow instance's execution) started from inside one agent's event, which must not log as, or be
 * seen by `getCurrentAgent()` as, that agent.
 */
export function runOutsideEvents<T>(fn: () => T): T {
  const frame = frames.getStore();
  // The context carried into the event stays: the work is still what the event's sender started.
  if (frame?.carried === undefined) return frames.exit(fn);
  return frames.run({ event: undefined, carried: frame.carried, entered: frame.entered, owner: undefined, claimed: false, scope: undefined }, fn);
}

/** @internal The host's event whose code is running (host/event-context.ts `currentEvent`). */
export function eventOfFrame(): object | undefined {
  return frames.getStore()?.event;
}

/** @internal What the current frame knows of contexts: its event, the context carried into it, and when it began. */
export function carriedOfFrame(): { readonly event: object | undefined; readonly carried: unknown; readonly entered: number } | undefined {
  return frames.getStore();
}

/**
 * @internal Runs `fn` as an event of `scope.agent`: getCurrentAgent() sees it, across awaits. The
 * event's owner's first scope is put on the event's frame (what runs after it in the same event still
 * sees it); any other scope — inside another, or another agent's made while this event runs (a
 * constructor) — enters a frame of its own, keeping the event.
 */
export function runInAgentScope<T>(scope: Scope, fn: () => T): T {
  const frame = frames.getStore();
  if (frame !== undefined && !frame.claimed && frame.owner !== undefined && frame.owner === scope.runtime) {
    frame.claimed = true;
    frame.scope = scope;
    return fn();
  }
  return frames.run({ event: frame?.event, carried: frame?.carried, entered: frame?.entered ?? 0, owner: frame?.owner, claimed: true, scope }, fn);
}

/** @internal The caller to record for a stub call made now (from inside an agent, or from outside). */
export function callerOfCurrentScope(): AgentCaller {
  const scope = frames.getStore()?.scope;
  return scope ? { kind: "agent", className: scope.className, name: scope.name } : { kind: "external" };
}

/** @internal The running event's scope, if any. */
export function currentScope(): Scope | undefined {
  return frames.getStore()?.scope;
}

const EMPTY: CurrentAgent<never> = Object.freeze({
  agent: undefined,
  connection: undefined,
  request: undefined,
  email: undefined,
  caller: undefined,
});

/**
 * The agent whose event is running, with the connection, request or email that event came with.
 * Works in any function the event calls, across awaits — AI SDK tools, helpers, libraries. Outside an
 * agent's event every field is undefined.
 * @example
 * import { getCurrentAgent } from "hearth";
 * async function audit(action: string) {
 *   const { agent, connection } = getCurrentAgent<MyAgent>();
 *   agent?.sql`INSERT INTO audit VALUES (${action}, ${connection?.id ?? "server"})`;
 * }
 */
export function getCurrentAgent<T = unknown>(): CurrentAgent<T> {
  const scope = frames.getStore()?.scope;
  if (!scope) return EMPTY;
  return {
    agent: scope.agent as T,
    connection: scope.connection,
    request: scope.request,
    email: scope.email,
    caller: scope.caller,
  };
}
