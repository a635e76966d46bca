import { instancePath, resolveHost } from "./url.ts";
import type { AgentAddress } from "./url.ts";

/** Query parameters of a request; `null` and `undefined` values are left out. */
export type QueryParams = Record<string, string | null | undefined>;

/**
 * Options for {@link agentUrl}.
 *
 * @example
 * ```ts
 * const options: AgentUrlOptions = { host: "127.0.0.1:8787", agent: "ChatRoom", name: "lobby", path: "get-messages" };
 * ```
 */
export interface AgentUrlOptions extends AgentAddress {
  /** `"host:port"`, or a URL such as `"http://127.0.0.1:8787"`. */
  host: string;
  /** Defaults to the scheme in `host`, else http for local addresses and https otherwise. */
  protocol?: "http" | "https";
  /** The whole URL path instead of `/{prefix}/{agent}/{name}` (the server routes it itself). */
  basePath?: string;
  /** Sub-path below the instance, such as `"get-messages"` or `"/items?limit=5"`. */
  path?: string;
  /** Query parameters; `null` and `undefined` values are left out. */
  query?: QueryParams;
}

/**
 * Options for {@link agentFetch} (the Agents SDK calls them
 * `AgentClientFetchOptions`): the address, and the `fetch` to use.
 *
 * @example
 * ```ts
 * const options: AgentFetchOptions = { host: "127.0.0.1:8787", agent: "ChatRoom", name: "lobby", query: async () => ({ token: await getToken() }) };
 * ```
 */
export interface AgentFetchOptions extends Omit<AgentUrlOptions, "query"> {
  /** Query parameters, or a function resolving them before the request (a fresh token, say). */
  query?: QueryParams | (() => QueryParams | Promise<QueryParams>);
  /** The `fetch` implementation to use; defaults to the global one. */
  fetch?: typeof fetch;
}

/**
 * Builds the HTTP URL of an agent instance, or of one of its sub-agents
 * (`sub`), or of a path below it.
 *
 * @example
 * ```ts
 * agentUrl({ host: "127.0.0.1:8787", agent: "Counter", name: "a/b", path: "stats" });
 * // "http://127.0.0.1:8787/agents/counter/a%2Fb/stats"
 * agentUrl({ host: "127.0.0.1:8787", agent: "Inbox", name: "ada", sub: [{ agent: "ChatThread", name: "t1" }], path: "messages" });
 * // "http://127.0.0.1:8787/agents/inbox/ada/sub/chat-thread/t1/messages"
 * ```
 */
export function agentUrl(options: AgentUrlOptions): string {
  const { host, secure } = resolveHost(options.host, options.protocol);
  const rawPath = options.path ?? "";
  const path = rawPath === "" || rawPath.startsWith("/") || rawPath.startsWith("?") ? rawPath : `/${rawPath}`;
  let url = `${secure ? "https" : "http"}://${host}${instancePath(options)}${path}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== null && value !== undefined) params.append(key, value);
  }
  const search = params.toString();
  if (search) url += `${url.includes("?") ? "&" : "?"}${search}`;
  return url;
}

/**
 * Sends a plain HTTP request to an agent instance; the agent answers it in
 * `onRequest`. The URL is `/{prefix}/{kebab agent}/{encodeURIComponent(name)}{path}`,
 * or `/{basePath}{path}`; with `sub`, `/sub/{kebab agent}/{encoded name}` per
 * step comes before `path`, and the request reaches that sub-agent through
 * its parents (each parent's `onBeforeSubAgent` may answer it instead).
 *
 * @example
 * ```ts
 * const res = await agentFetch({ host: "127.0.0.1:8787", agent: "Counter", name: "room-1", path: "stats" });
 * console.log(await res.json());
 * const thread = await agentFetch({ host: "127.0.0.1:8787", agent: "Inbox", name: "ada", sub: [{ agent: "ChatThread", name: "t1" }] });
 * ```
 */
export async function agentFetch(options: AgentFetchOptions, init?: RequestInit): Promise<Response> {
  const query = typeof options.query === "function" ? await options.query() : options.query;
  return (options.fetch ?? fetch)(agentUrl({ ...options, query }), init);
}

/**
 * The Agents SDK's name for {@link AgentFetchOptions}.
 *
 * @example
 * ```ts
 * const options: AgentClientFetchOptions = { host: "127.0.0.1:8787", agent: "Counter" };
 * ```
 */
export type AgentClientFetchOptions = AgentFetchOptions;
