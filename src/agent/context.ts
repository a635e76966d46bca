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
  readonly className: string;
  readonly name: string;
  readonly connection?: Connection;
  readonly request?: Request;
  readonly email?: unknown;
  readonly caller?: AgentCaller;
}

const scopes = new AsyncLocalStorage<Scope>();

/** @internal Runs `fn` as an event of `scope.agent`: getCurrentAgent() sees it, across awaits. */
export function runInAgentScope<T>(scope: Scope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** @internal The caller to record for a stub call made now (from inside an agent, or from outside). */
export function callerOfCurrentScope(): AgentCaller {
  const scope = scopes.getStore();
  return scope ? { kind: "agent", className: scope.className, name: scope.name } : { kind: "external" };
}

/** @internal The running event's scope, if any. */
export function currentScope(): Scope | undefined {
  return scopes.getStore();
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
  const scope = scopes.getStore();
  if (!scope) return EMPTY;
  return {
    agent: scope.agent as T,
    connection: scope.connection,
    request: scope.request,
    email: scope.email,
    caller: scope.caller,
  };
}
