/**
 * The OAuth redirect back to the agent: where it points (`/agents/<class>/<name>/callback` under
 * the agent's public URL), the paths it is answered at, and the answer the browser gets.
 */
import { McpClientError } from "./errors.ts";
import type { McpOAuthCallbackConfig } from "./types.ts";

/** What decides the callback URL, strongest first. */
export interface CallbackSources {
  /** `addMcpServer`'s `callbackHost`. */
  callbackHost?: string | undefined;
  agentsPrefix?: string | undefined;
  /** `addMcpServer`'s `callbackPath`: the whole path, instead of `/<prefix>/<class>/<name>/callback`. */
  callbackPath?: string | undefined;
  /** The `HEARTH_PUBLIC_URL` variable. */
  publicUrl?: string | undefined;
  /**
   * URL of the request, or of the WebSocket, of the event that is running (the caller's own: never
   * another client's, whose `Host` header it may choose).
   */
  eventUrl?: string | undefined;
}

/**
 * The callback URL of an agent, or undefined when nothing tells its public address.
 * @example
 * callbackUrl("docs-agent", "alice", { eventUrl: "https://app.example/agents/docs-agent/alice/ask" });
 * // "https://app.example/agents/docs-agent/alice/callback"
 */
export function callbackUrl(classSlug: string, name: string, sources: CallbackSources): string | undefined {
  const own = sources.callbackPath === undefined ? undefined : `/${sources.callbackPath.replace(/^\/+/, "")}`;
  const path = (prefix: string) => own ?? `${prefix ? `/${prefix}` : ""}/${classSlug}/${encodeURIComponent(name)}/callback`;
  const prefix = (sources.agentsPrefix ?? "agents").replace(/^\/+|\/+$/g, "");
  if (sources.callbackHost) return join(sources.callbackHost, path(prefix), "callbackHost");
  if (sources.publicUrl) return join(sources.publicUrl, path(prefix), "HEARTH_PUBLIC_URL");
  if (sources.eventUrl) {
    const event = new URL(sources.eventUrl);
    return event.origin + path(prefixIn(event.pathname, classSlug, name) ?? prefix);
  }
  return undefined;
}

/** The routing prefix in front of `/<class>/<name>` in a request path (`agents`), if it is there. */
export function prefixIn(pathname: string, classSlug: string, name: string): string | undefined {
  const segments = pathname.split("/");
  for (let i = 1; i + 1 < segments.length; i++) {
    if (segments[i] !== classSlug) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segments[i + 1]!);
    } catch {
      continue;
    }
    if (decoded === name) return segments.slice(1, i).join("/");
  }
  return undefined;
}

/**
 * True for `/…/<class>/<name>/callback`, the callback path of this agent under any routing prefix
 * (a proxy may strip part of the public URL's path).
 */
export function isCallbackPath(pathname: string, classSlug: string, name: string): boolean {
  const segments = pathname.split("/");
  if (segments.at(-1) !== "callback" || segments.length < 4 || segments.at(-3) !== classSlug) return false;
  try {
    return decodeURIComponent(segments.at(-2)!) === name;
  } catch {
    return false;
  }
}

function join(base: string, path: string, option: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(base) ? base : `https://${base}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new McpClientError("callback-url", `${option} must be a URL such as https://agents.example.com, got ${JSON.stringify(base)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new McpClientError("callback-url", `${option} must be an http(s) URL, got ${JSON.stringify(base)}`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}${path}`;
}

/**
 * The answer to the browser after the callback, as the Agents SDK gives it: a redirect to
 * `successRedirect` / `errorRedirect` (with `?error=<reason>`) when configured for the outcome, else
 * to `origin`, the one the browser is on. A redirect given as a path stays on `origin`.
 * @example
 * callbackResponse({ ok: true }, {}, "https://app.example"); // 302 to https://app.example/
 */
export function callbackResponse(outcome: { ok: true } | { ok: false; message: string }, config: McpOAuthCallbackConfig, origin: string): Response {
  if (outcome.ok && config.successRedirect) return redirect(new URL(config.successRedirect, origin).href);
  if (!outcome.ok && config.errorRedirect) {
    const target = new URL(config.errorRedirect, origin);
    target.searchParams.set("error", outcome.message);
    return redirect(target.href);
  }
  return redirect(new URL("/", origin).href);
}

/**
 * Checks a `successRedirect` / `errorRedirect`: an absolute http(s) URL, or a path on the callback's origin.
 * @throws TypeError for anything else
 */
export function checkRedirect(key: string, value: unknown): void {
  if (value === undefined) return;
  const ok =
    typeof value === "string" &&
    (value.startsWith("/") ? URL.canParse(value, "http://localhost") : URL.canParse(value) && /^https?:$/.test(new URL(value).protocol));
  if (!ok) throw new TypeError(`configureOAuthCallback: ${key} must be an absolute http(s) URL or a path starting with "/", got ${JSON.stringify(value)}`);
}

function redirect(location: string): Response {
  return new Response(null, { status: 302, headers: { location, "cache-control": "no-store" } });
}
