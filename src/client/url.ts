import { camelCaseToKebabCase } from "./kebab.ts";

const SCHEME = /^(https?|wss?):\/\//i;

function isLocalHost(host: string): boolean {
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : (host.split(":")[0] ?? "");
  if (hostname === "localhost" || hostname === "[::1]" || hostname === "[::ffff:7f00:1]") return true;
  const parts = hostname.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n))) return false;
  const [a = 0, b = 0] = parts;
  return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31);
}

/**
 * Splits a host option into a bare `host[:port]` and the scheme to use.
 * An explicit `protocol` wins; then a scheme written in `host`
 * (`"https://example.com"`); then plain text for loopback and private
 * addresses and TLS for everything else.
 *
 * @example
 * ```ts
 * resolveHost("http://127.0.0.1:8787/", "ws");  // { host: "127.0.0.1:8787", secure: false }
 * resolveHost("agents.example.com", "http");    // { host: "agents.example.com", secure: true }
 * ```
 */
export function resolveHost(
  host: string,
  protocol?: "ws" | "wss" | "http" | "https",
): { host: string; secure: boolean } {
  const scheme = SCHEME.exec(host)?.[1]?.toLowerCase();
  const bare = host.replace(SCHEME, "").replace(/\/+$/, "");
  const chosen = protocol ?? scheme;
  if (chosen !== undefined) return { host: bare, secure: chosen === "https" || chosen === "wss" };
  return { host: bare, secure: !isLocalHost(bare) };
}

/**
 * Encodes an instance name as one URL path segment with `encodeURIComponent`,
 * so "/", "?", "#", "%" and non-ASCII characters survive the trip. The server
 * decodes the segment with `decodeURIComponent`.
 *
 * The names "." and ".." are refused: URL parsers (browsers, Node's
 * `fetch` and `WebSocket`) remove such segments, also when percent-encoded,
 * so no client can address them.
 *
 * @example
 * ```ts
 * encodeInstanceName("docs/readme"); // "docs%2Freadme"
 * encodeInstanceName("..");          // throws RangeError
 * ```
 */
export function encodeInstanceName(name: string): string {
  if (name === "." || name === "..") {
    throw new RangeError(`The instance name "${name}" cannot be used: URLs drop "." and ".." path segments`);
  }
  return encodeURIComponent(name);
}

/**
 * Where an agent instance lives.
 *
 * @example
 * ```ts
 * const address: AgentAddress = { agent: "ChatRoom", name: "lobby", prefix: "api/agents" };
 * ```
 */
export interface AgentAddress {
  /** Agent class name, `"ChatRoom"` or already kebab-cased `"chat-room"`. */
  agent: string;
  /** Instance name; defaults to `"default"`. */
  name?: string;
  /** First path segment(s); defaults to `"agents"`. */
  prefix?: string;
}

/**
 * The URL path of an agent instance: `/{prefix}/{kebab agent}/{encoded name}`.
 *
 * @example
 * ```ts
 * agentPath({ agent: "ChatRoom", name: "team/α" }); // "/agents/chat-room/team%2F%CE%B1"
 * ```
 */
export function agentPath(address: AgentAddress): string {
  const prefix = (address.prefix ?? "agents").replace(/^\/+|\/+$/g, "");
  const name = encodeInstanceName(address.name || "default");
  return `${prefix ? `/${prefix}` : ""}/${camelCaseToKebabCase(address.agent)}/${name}`;
}

/**
 * The URL path of an instance: `basePath` when given (the server routes it
 * itself), else {@link agentPath}.
 *
 * @example
 * ```ts
 * instancePath({ agent: "ChatRoom", basePath: "/me/" }); // "/me"
 * instancePath({ agent: "ChatRoom", name: "lobby" });    // "/agents/chat-room/lobby"
 * ```
 */
export function instancePath(address: AgentAddress & { basePath?: string }): string {
  const basePath = address.basePath?.replace(/^\/+|\/+$/g, "");
  return basePath ? `/${basePath}` : agentPath(address);
}
