/**
 * Checking what `addMcpServer` and `this.mcp.registerServer` are given, before anything is stored:
 * bad input fails at the call with a message that names the option.
 */
import { isAgentNamespace } from "../../host/namespace.ts";
import { resolveRetry, type RetryOptions } from "../../time/backoff.ts";
import { MCP_RECONNECT, resolveLimits, type McpClientLimits } from "./limits.ts";
import { normalizeServerId } from "./server-id.ts";
import type { ServerOptions, StoredTransport } from "./store.ts";
import type { AddMcpServerOptions, ClientCapabilities, McpClientOptions, McpTransportType } from "./types.ts";

const TRANSPORTS: readonly McpTransportType[] = ["auto", "streamable-http", "sse"];

/** What a server is stored with, besides its id, name and URL. */
export interface ServerSettings {
  transport: StoredTransport;
  headers: Record<string, string> | undefined;
  limits: Partial<McpClientLimits> | undefined;
  options: ServerOptions | undefined;
}

/** @throws TypeError unless `name` is a string of 1–256 characters */
export function checkName(name: unknown, api: string): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) throw new TypeError(`${api}: name must be a string of 1-256 characters`);
}

/**
 * The URL as stored and compared (host lowercased, default port dropped, as `new URL` writes it).
 * @example
 * parseServerUrl("https://MCP.Example.com:443", "addMcpServer"); // "https://mcp.example.com/"
 */
export function parseServerUrl(url: unknown, api: string): string {
  if (typeof url !== "string" || !URL.canParse(url)) throw new TypeError(`${api}: ${JSON.stringify(url)} is not a URL`);
  const parsed = new URL(url);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError(`${api}: the server URL must be http(s), got ${parsed.protocol}`);
  return parsed.href;
}

/** The id as stored: normalised, or undefined when none was given. */
export function requestedId(id: unknown, api: string): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== "string") throw new TypeError(`${api}: id must be a string, got ${typeof id}`);
  return normalizeServerId(id);
}

/** Transport, headers, limits and retry of an HTTP server. */
export function httpSettings(
  options: Pick<AddMcpServerOptions, "transport" | "headers" | "limits" | "retry" | "callbackPath" | "client">,
  api: string,
): ServerSettings {
  const transport = typeof options.transport === "object" ? (options.transport.type ?? "auto") : (options.transport ?? "auto");
  if (!TRANSPORTS.includes(transport)) throw new TypeError(`${api}: transport must be one of ${TRANSPORTS.join(", ")}, got ${JSON.stringify(transport)}`);
  const headers = { ...(typeof options.transport === "object" ? options.transport.headers : undefined), ...options.headers };
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== "string") throw new TypeError(`${api}: header ${JSON.stringify(key)} must be a string`);
  }
  if (options.callbackPath !== undefined && (typeof options.callbackPath !== "string" || !/^\/?[^/?#]/.test(options.callbackPath) || /[?#]/.test(options.callbackPath))) {
    throw new TypeError(`${api}: callbackPath must be a URL path such as "/oauth/callback", got ${JSON.stringify(options.callbackPath)}`);
  }
  const stored: ServerOptions = {
    ...retryOf(options.retry),
    ...clientOf(options.client, api),
    ...(options.callbackPath ? { callbackPath: options.callbackPath } : {}),
  };
  return {
    transport,
    headers: Object.keys(headers).length > 0 ? headers : undefined,
    limits: limitsOf(options.limits),
    options: Object.keys(stored).length > 0 ? stored : undefined,
  };
}

/** Limits, validated (a mistake fails here, not at the first call). */
export function limitsOf(limits: Partial<McpClientLimits> | undefined): Partial<McpClientLimits> | undefined {
  if (limits !== undefined) resolveLimits(limits);
  return limits;
}

/** Retry options, validated, as stored. */
export function retryOf(retry: RetryOptions | undefined): { retry?: RetryOptions } {
  if (retry === undefined) return {};
  resolveRetry(retry, MCP_RECONNECT); // checked against the defaults it is merged with when reconnecting
  return { retry: { ...retry } };
}

/** `client: { capabilities }`, validated (a JSON object), as stored. */
export function clientOf(client: McpClientOptions | undefined, api: string): Pick<ServerOptions, "capabilities"> {
  if (client === undefined) return {};
  if (typeof client !== "object" || client === null || Object.keys(client).some((key) => key !== "capabilities")) {
    throw new TypeError(`${api}: client must be { capabilities }, the capabilities announced to the server`);
  }
  const capabilities: unknown = client.capabilities;
  if (capabilities === undefined) return {};
  if (typeof capabilities !== "object" || capabilities === null || Array.isArray(capabilities)) throw new TypeError(`${api}: client.capabilities must be an object`);
  return { capabilities: JSON.parse(JSON.stringify(capabilities)) as ClientCapabilities };
}

/**
 * The name of the McpAgent an `rpc` server talks to, as the Agents SDK derives it: the server's name
 * lowercased, whitespace runs as `-` (stored as the URL `rpc:<name>`). Each mounting agent talks to
 * its own session of it, the instance `rpc:<name>:<Class>/<agent name>`.
 * @example
 * rpcInstanceName("My Counter"); // "my-counter"
 */
export function rpcInstanceName(name: string): string {
  return name.toLowerCase().replace(/\s+/g, "-");
}

/**
 * The key under which `env` holds `namespace` (the binding is stored by key, and looked up again after a restart).
 * @throws TypeError when `namespace` is not an agent binding of this env
 */
export function bindingKey(env: unknown, namespace: unknown): string {
  if (!isAgentNamespace(namespace)) {
    throw new TypeError("addMcpServer: the second argument must be a server URL or an agent binding from env, e.g. env.MY_MCP");
  }
  const entries = typeof env === "object" && env !== null ? Object.entries(env as Record<string, unknown>) : [];
  const key = entries.find(([, value]) => value === namespace)?.[0];
  if (key === undefined) {
    throw new TypeError(`addMcpServer: the binding of ${namespace.className} is not in this agent's env, so it could not be found again after a restart; pass env.${namespace.className}`);
  }
  return key;
}

/** Props for the McpAgent: a plain object, stored as JSON (so it must survive a JSON round trip). */
export function propsOf(props: unknown): Record<string, unknown> | undefined {
  if (props === undefined) return undefined;
  if (typeof props !== "object" || props === null || Array.isArray(props)) throw new TypeError("addMcpServer: props must be a plain object");
  let text: string | undefined;
  try {
    text = JSON.stringify(props);
  } catch (error) {
    throw new TypeError(`addMcpServer: props must be JSON (they are stored with the server): ${(error as Error).message}`, { cause: error });
  }
  return JSON.parse(text!) as Record<string, unknown>;
}
