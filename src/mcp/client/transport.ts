/**
 * The SDK transports a connection uses: Streamable HTTP or the legacy HTTP+SSE, always with the
 * capped `fetch` (with single-flight token refresh), the server's stored headers and its OAuth provider.
 */
import type { Transport } from "@modelcontextprotocol/client";
import type { AgentNamespace } from "../../host/namespace.ts";
import { McpClientError } from "./errors.ts";
import { guardFetch, type FetchGuardOptions } from "./fetch-guard.ts";
import { loadedModules } from "./modules.ts";
import type { SqlOAuthProvider } from "./oauth-provider.ts";
import type { Catalog, ServerRecord, StoredTransport } from "./store.ts";

export type TransportKind = Catalog["transport"];

/** A transport that can finish an authorization and end its session. */
export type HttpTransport = Transport & { finishAuth(params: URLSearchParams): Promise<void>; terminateSession?(): Promise<void> };

/** Any transport a connection holds. */
export type McpTransport = Transport & { terminateSession?(): Promise<void> };

export interface TransportOptions extends Omit<FetchGuardOptions, "fetch"> {
  url: string;
  headers: Record<string, string> | undefined;
  authProvider: SqlOAuthProvider;
}

/**
 * A new transport of `kind` (the SDKs must be loaded).
 * @example
 * const transport = createTransport("streamable-http", { url, headers, authProvider, maxBytes, label, serverId, onViolation });
 */
export function createTransport(kind: Exclude<TransportKind, "rpc">, options: TransportOptions): HttpTransport {
  const { sdk } = loadedModules()!;
  const { url, headers, authProvider, ...guard } = options;
  const settings = { authProvider, fetch: authProvider.authorizedFetch(guardFetch(guard)), ...(headers ? { requestInit: { headers } } : {}) };
  return kind === "sse" ? new sdk.SSEClientTransport(new URL(url), settings) : new sdk.StreamableHTTPClientTransport(new URL(url), settings);
}

/**
 * The transports to try, in order: the configured one, or for `auto` the one that worked last
 * time first (Streamable HTTP when none did), then the other.
 */
export function transportOrder(configured: StoredTransport, worked: TransportKind | undefined): [TransportKind, TransportKind?] {
  if (configured !== "auto") return [configured];
  return worked === "sse" ? ["sse", "streamable-http"] : ["streamable-http", "sse"];
}

/** What an `rpc` transport is made of: the binding, the server's name, the mounting agent's session, its props. */
export interface RpcTransportOptions {
  namespace: AgentNamespace;
  name: string;
  /** The mounting agent (`<Class>/<name>`): each agent has its own session of the server. */
  session: string;
  props: Record<string, unknown> | undefined;
}

/**
 * A transport to the McpAgent `rpc:<name>:<session>` of this host, through its binding (no HTTP).
 * Loaded on first use, like the SDKs (modules.ts): agents without such servers never import it.
 * @example
 * const transport = await createRpcTransport({ namespace: env.MY_MCP, name: "counter", session: "Assistant/a", props: { userId } });
 */
export async function createRpcTransport(options: RpcTransportOptions): Promise<McpTransport> {
  const { RpcClientTransport } = await import("../rpc/client-transport.ts");
  const namespace = options.namespace as ConstructorParameters<typeof RpcClientTransport>[0]["namespace"];
  return new RpcClientTransport({ namespace, name: options.name, session: options.session, ...(options.props ? { props: options.props } : {}) }) as McpTransport;
}

/**
 * The `rpc` transport of a mounted server: the binding its options name, in the mounting agent's env,
 * and that agent's own session (`host.rpcSession`).
 */
export function rpcTransportOf(
  record: ServerRecord,
  host: { binding(key: string): AgentNamespace | undefined; readonly rpcSession: string },
  label: string,
): Promise<McpTransport> {
  const rpc = record.options?.rpc;
  const namespace = rpc && host.binding(rpc.binding);
  if (!rpc || namespace === undefined) {
    const error = new McpClientError("connection", `${label}: the agent binding ${JSON.stringify(rpc?.binding ?? "")} is not in this agent's env`, {
      serverId: record.id,
    });
    return Promise.reject(error);
  }
  return createRpcTransport({ namespace, name: record.url.slice("rpc:".length), session: host.rpcSession, props: rpc.props });
}
