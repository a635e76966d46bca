import { agentPath, resolveHost } from "./url.ts";
import type { AgentAddress } from "./url.ts";

/**
 * Options for {@link agentFetch} and {@link agentUrl}.
 *
 * @example
 * ```ts
 * const options: AgentFetchOptions = { host: "127.0.0.1:8787", agent: "ChatRoom", name: "lobby", path: "get-messages" };
 * ```
 */
export interface AgentFetchOptions extends AgentAddress {
  /** `"host:port"`, or a URL such as `"http://127.0.0.1:8787"`. */
  host: string;
  /** Defaults to the scheme in `host`, else http for local addresses and https otherwise. */
  protocol?: "http" | "https";
  /** Sub-path below the instance, such as `"get-messages"` or `"/items?limit=5"`. */
  path?: string;
  /** Query parameters; `null` and `undefined` values are left out. */
  query?: Record<string, string | null | undefined>;
  /** The `fetch` implementation to use; defaults to the global one. */
  fetch?: typeof fetch;
}

/**
 * Builds the HTTP URL of an agent instance (or of a path below it).
 *
 * @example
 * ```ts
 * agentUrl({ host: "127.0.0.1:8787", agent: "Counter", name: "a/b", path: "stats" });
 * // "http://127.0.0.1:8787/agents/counter/a%2Fb/stats"
 * ```
 */
export function agentUrl(options: AgentFetchOptions): string {
  const { host, secure } = resolveHost(options.host, options.protocol);
  const rawPath = options.path ?? "";
  const path = rawPath === "" || rawPath.startsWith("/") || rawPath.startsWith("?") ? rawPath : `/${rawPath}`;
  let url = `${secure ? "https" : "http"}://${host}${agentPath(options)}${path}`;
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
 * `onRequest`. The URL is `/{prefix}/{kebab agent}/{encodeURIComponent(name)}{path}`.
 *
 * @example
 * ```ts
 * const res = await agentFetch({ host: "127.0.0.1:8787", agent: "Counter", name: "room-1", path: "stats" });
 * console.log(await res.json());
 * ```
 */
export async function agentFetch(options: AgentFetchOptions, init?: RequestInit): Promise<Response> {
  return (options.fetch ?? fetch)(agentUrl(options), init);
}
