import { camelCaseToKebabCase } from "../protocol/kebab.ts";

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
  /**
   * A sub-agent below the instance, reached through its parents: one step
   * per level, root first (`agent` and `name` above are the top-level agent).
   */
  sub?: ReadonlyArray<AgentPathStep>;
}

/**
 * One step of an agent's address: a class and an instance name. In `sub`,
 * each step is a child of the one before it.
 *
 * @example
 * ```ts
 * const step: AgentPathStep = { agent: "ChatThread", name: "t-42" };
 * ```
 */
export interface AgentPathStep {
  /** The class, `"ChatThread"` or its URL form `"chat-thread"`. */
  agent: string;
  /** The instance name: any non-empty string but "." and "..", without NUL characters. */
  name: string;
}

/**
 * The whole address as steps, root first: the top-level agent (its name
 * defaulting to `"default"`) followed by the `sub` steps as given. The last
 * step is the instance a connection talks to.
 *
 * @example
 * ```ts
 * agentSteps({ agent: "Inbox", sub: [{ agent: "ChatThread", name: "t1" }] });
 * // [{ agent: "Inbox", name: "default" }, { agent: "ChatThread", name: "t1" }]
 * ```
 */
export function agentSteps(address: Pick<AgentAddress, "agent" | "name" | "sub">): [AgentPathStep, ...AgentPathStep[]] {
  // Lenient on purpose: a disabled useAgent may hold placeholder steps, which agentPath would refuse.
  const sub: ReadonlyArray<unknown> = Array.isArray(address.sub) ? address.sub : [];
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  const steps = sub.map((step) => {
    const { agent, name } = (typeof step === "object" && step !== null ? step : {}) as Partial<Record<"agent" | "name", unknown>>;
    return { agent: text(agent), name: text(name) };
  });
  return [{ agent: address.agent, name: address.name || "default" }, ...steps];
}

/** The URL segment that introduces a sub-agent: `/agents/{parent}/{name}/sub/{child}/{name}`. */
export const SUB_AGENT_SEGMENT = "sub";

/**
 * The URL path of an agent instance, `/{prefix}/{kebab agent}/{encoded name}`,
 * followed by `/sub/{kebab agent}/{encoded name}` for each step of `sub`.
 * Throws a `TypeError` naming the step when a `sub` step cannot be addressed
 * (see {@link subAgentPath}).
 *
 * @example
 * ```ts
 * agentPath({ agent: "ChatRoom", name: "team/α" }); // "/agents/chat-room/team%2F%CE%B1"
 * agentPath({ agent: "Inbox", name: "ada", sub: [{ agent: "ChatThread", name: "t 1" }] });
 * // "/agents/inbox/ada/sub/chat-thread/t%201"
 * ```
 */
export function agentPath(address: AgentAddress): string {
  const prefix = (address.prefix ?? "agents").replace(/^\/+|\/+$/g, "");
  const name = encodeInstanceName(address.name || "default");
  return `${prefix ? `/${prefix}` : ""}/${camelCaseToKebabCase(address.agent)}/${name}${subAgentPath(address.sub)}`;
}

/**
 * The part of a URL path that leads from an agent to one of its
 * sub-agents: `/sub/{kebab agent}/{encoded name}` per step, root first;
 * `""` for no steps. Each step needs a non-empty `agent` whose URL form is
 * one plain path segment other than `"sub"` (the separator), and a
 * non-empty `name` other than "." and "..", without NUL characters and
 * well-formed Unicode.
 *
 * @example
 * ```ts
 * subAgentPath([{ agent: "Inbox", name: "ada" }, { agent: "ChatThread", name: "a/b" }]);
 * // "/sub/inbox/ada/sub/chat-thread/a%2Fb"
 * subAgentPath([{ agent: "Sub", name: "x" }]); // throws TypeError
 * ```
 */
export function subAgentPath(sub: ReadonlyArray<AgentPathStep> | undefined): string {
  if (sub === undefined) return "";
  if (!Array.isArray(sub)) throw addressError(`sub must be an array of { agent, name } steps, root first (got ${describeValue(sub)})`);
  let path = "";
  sub.forEach((step: unknown, index) => {
    path += `/${SUB_AGENT_SEGMENT}/${stepSegments(step, `sub[${index}]`)}`;
  });
  return path;
}

function stepSegments(step: unknown, where: string): string {
  if (typeof step !== "object" || step === null) throw addressError(`${where} must be an object { agent, name } (got ${describeValue(step)})`);
  const { agent, name } = step as Record<string, unknown>;
  if (typeof agent !== "string" || agent === "") {
    throw addressError(`${where}.agent must be a non-empty string, the sub-agent's class (got ${describeValue(agent)})`);
  }
  if (typeof name !== "string" || name === "") {
    throw addressError(`${where}.name must be a non-empty string, the sub-agent's instance name (got ${describeValue(name)})`);
  }
  const segment = camelCaseToKebabCase(agent);
  if (segment === SUB_AGENT_SEGMENT) {
    throw addressError(`${where}.agent ${JSON.stringify(agent)} has the URL form "sub", which separates sub-agents in URLs; rename the class`);
  }
  if (!isPlainSegment(segment)) {
    throw addressError(`${where}.agent ${JSON.stringify(agent)} has the URL form ${JSON.stringify(segment)}, which is not one plain URL path segment`);
  }
  if (name.includes("\0")) throw addressError(`${where}.name must not contain NUL characters`);
  if (!name.isWellFormed()) throw addressError(`${where}.name must be well-formed Unicode (it has an unpaired surrogate)`);
  if (name === "." || name === "..") {
    throw addressError(`${where}.name ${JSON.stringify(name)} cannot be used: URLs drop "." and ".." path segments`);
  }
  return `${segment}/${encodeURIComponent(name)}`;
}

/** A class's URL form travels as typed: URL parsers must keep it as one segment, unchanged. */
function isPlainSegment(segment: string): boolean {
  if (segment.includes("%") || segment.includes("/")) return false;
  try {
    return new URL(`http://host/${segment}/`).pathname === `/${segment}/`;
  } catch {
    return false;
  }
}

function addressError(detail: string): TypeError {
  return new TypeError(`Invalid sub-agent address: ${detail}`);
}

function describeValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/**
 * The URL path of an instance: `basePath` when given (the server routes it
 * itself) followed by the `sub` steps, else {@link agentPath}.
 *
 * @example
 * ```ts
 * instancePath({ agent: "ChatRoom", basePath: "/me/" }); // "/me"
 * instancePath({ agent: "ChatRoom", name: "lobby" });    // "/agents/chat-room/lobby"
 * instancePath({ agent: "Inbox", basePath: "me", sub: [{ agent: "Thread", name: "t1" }] }); // "/me/sub/thread/t1"
 * ```
 */
export function instancePath(address: AgentAddress & { basePath?: string }): string {
  const basePath = address.basePath?.replace(/^\/+|\/+$/g, "");
  return basePath ? `/${basePath}${subAgentPath(address.sub)}` : agentPath(address);
}
