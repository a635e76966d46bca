import type { AgentConnectionError } from "./connection-error.ts";
import type { McpServersState } from "./frames.ts";
import type { IdentityChangeHandler } from "./identity-change.ts";
import { instancePath } from "./url.ts";
import type { AgentPathStep } from "./url.ts";

/**
 * The wire a connection travels on. Hearth speaks the agent protocol over a
 * plain WebSocket; the Agents SDK's experimental `"capnweb"` transport is
 * not served.
 *
 * @example
 * ```ts
 * const transport: AgentTransport = "cf-websocket";
 * ```
 */
export type AgentTransport = "cf-websocket";

/** What {@link AgentClient} and `useAgent` share: the agent's address and the protocol callbacks. */
export interface AgentSocketOptions<State = unknown> {
  /** Agent class name, `"ChatRoom"`, or its URL form `"chat-room"`. */
  agent: string;
  /** Instance name, any string; defaults to `"default"`. */
  name?: string;
  /** First path segment(s); defaults to `"agents"`, `""` for none. */
  prefix?: string;
  /** The whole URL path instead of `/{prefix}/{agent}/{name}` (the server routes it itself). */
  basePath?: string;
  /**
   * A sub-agent of the instance, reached through its parents: one
   * `{ agent, name }` step per level, root first. The URL becomes
   * `/agents/{agent}/{name}/sub/{child agent}/{child name}…` (after
   * `basePath` when given); `agent` and `name` on the connection then
   * report the last step, as the server identifies it.
   */
  sub?: ReadonlyArray<AgentPathStep>;
  /** A sub-path appended to the URL (after `sub`): `"settings"` → `/agents/my-agent/room/settings`. */
  path?: string;
  /** Defaults to the scheme in `host`, else ws for local addresses and wss otherwise. */
  protocol?: "ws" | "wss";
  /** `"cf-websocket"`, the only one Hearth serves (the default). */
  transport?: AgentTransport;
  /**
   * Timeout in milliseconds for calls without stream callbacks that pass no
   * `timeout` of their own; 30 000 by default, 0 for none.
   */
  defaultCallTimeout?: number;
  /** The agent's state changed: sent by the server, or set by this client. */
  onStateUpdate?(state: State, source: "server" | "client"): void;
  /** The server refused a `setState` from this client. */
  onStateUpdateError?(error: string): void;
  /** The server announced which instance this socket reached. */
  onIdentity?(name: string, agent: string): void;
  /**
   * A reconnect reached a different instance than before (the server chose
   * it, with `basePath` routing). Without it such a change logs a warning.
   */
  onIdentityChange?: IdentityChangeHandler;
  /** The agent's remote MCP servers changed (also called once on connect). */
  onMcpUpdate?(mcp: McpServersState): void;
  /**
   * The connection closed and will not reconnect on its own: a close code
   * of 1008 or 4000–4999, `shouldReconnectOnClose` returning false, or
   * `maxRetries` spent.
   */
  onConnectionError?(error: AgentConnectionError): void;
  /** Whether to reconnect after `event`; terminal close codes never reconnect. */
  shouldReconnectOnClose?(event: CloseEvent): boolean;
}

/** `PartySocket` options that {@link AgentSocketOptions} replaces (the address, the protocol, reconnect rules). */
export type ReplacedPartySocketOption =
  | "party"
  | "room"
  | "prefix"
  | "protocol"
  | "basePath"
  | "path"
  | "shouldReconnectOnClose";

/** Every option of {@link AgentSocketOptions}: the typed record keeps the list complete. */
const AGENT_SOCKET_OPTION_KEYS: Record<keyof AgentSocketOptions, true> = {
  agent: true,
  name: true,
  prefix: true,
  basePath: true,
  sub: true,
  path: true,
  protocol: true,
  transport: true,
  defaultCallTimeout: true,
  onStateUpdate: true,
  onStateUpdateError: true,
  onIdentity: true,
  onIdentityChange: true,
  onMcpUpdate: true,
  onConnectionError: true,
  shouldReconnectOnClose: true,
};

/**
 * Reads the options of an agent connection for the `PartySocket` under it:
 * checks `transport`, builds the URL path, and returns the other options
 * without the agent's own and without `omit` (what the caller handles itself).
 *
 * @example
 * ```ts
 * const { address, rest } = partySocketOptions(options, ["host", "onOpen"]);
 * new PartySocket({ ...rest, host, ...address });
 * ```
 */
export function partySocketOptions<O extends AgentSocketOptions, K extends keyof O = never>(
  options: O,
  omit: readonly K[] = [],
): { address: { basePath: string; path: string | undefined }; rest: Omit<O, keyof AgentSocketOptions | K> } {
  checkTransport(options.transport);
  const rest: Partial<O> = { ...options };
  for (const key of Object.keys(AGENT_SOCKET_OPTION_KEYS) as (keyof O)[]) delete rest[key];
  for (const key of omit) delete rest[key];
  return { address: socketPath(options), rest: rest as Omit<O, keyof AgentSocketOptions | K> };
}

const SERVED_TRANSPORTS = new Set(["cf-websocket", "hibernating", "partykit"]);

/**
 * Refuses transports Hearth does not serve, naming the one it does.
 *
 * @example
 * ```ts
 * checkTransport(undefined);  // fine: the default
 * checkTransport("capnweb");  // throws
 * ```
 */
export function checkTransport(transport: unknown): void {
  if (transport === undefined || SERVED_TRANSPORTS.has(transport as string)) return;
  throw new TypeError(
    `transport ${JSON.stringify(transport)} is not supported: Hearth serves agents over a plain WebSocket ("cf-websocket", the default)`,
  );
}

/**
 * The URL path options of a `PartySocket` for an agent: `basePath` (the
 * instance's path, or the one given, with the `sub` steps) and the sub-path `path`, both without
 * leading slashes (PartySocket adds them).
 *
 * @example
 * ```ts
 * socketPath({ agent: "ChatRoom", name: "a/b", path: "/settings" });
 * // { basePath: "agents/chat-room/a%2Fb", path: "settings" }
 * socketPath({ agent: "Inbox", name: "ada", sub: [{ agent: "ChatThread", name: "t1" }] });
 * // { basePath: "agents/inbox/ada/sub/chat-thread/t1", path: undefined }
 * ```
 */
export function socketPath(options: Pick<AgentSocketOptions, "agent" | "name" | "prefix" | "basePath" | "sub" | "path">): {
  basePath: string;
  path: string | undefined;
} {
  const basePath = instancePath(options).slice(1);
  const path = options.path?.replace(/^\/+/, "") || undefined;
  return { basePath, path };
}
