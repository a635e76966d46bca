import { listenerOf } from "../../gateway/serve.ts";
import { jsonRpcError } from "./responses.ts";
import { hostnameOf } from "../../web/host-header.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
/** Listening on every interface includes loopback: such a server is protected as a local one. */
const LOCAL_LISTEN = new Set([...LOOPBACK_HOSTS, "0.0.0.0", "[::]", "::"]);

/**
 * The address the server that received a request listens on: the gateway's (kept on the request's
 * `ctx`), else the request's own URL (a request made in the process, without a server).
 */
export function listenAddress(ctx: unknown, url: URL): URL {
  const listener = listenerOf(ctx);
  return listener === undefined ? url : new URL(listener);
}

/**
 * DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends `Host: evil.example`.
 * Returns the 403 to answer with, or undefined when the request may proceed. `listen`: the address
 * the server listens on ({@link listenAddress}); the request's URL names the host the client asked for.
 */
export function checkHost(request: Request, url: URL, allowed: string[] | undefined, listen: URL = url): Response | undefined {
  const host = request.headers.get("host") ?? url.host;
  const hostname = hostnameOf(host).toLowerCase();
  if (allowed) {
    if (!allowed.includes(hostname)) return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not allowed (allowedHosts)`);
    return undefined;
  }
  if (isLocalListener(listen) && !LOOPBACK_HOSTS.has(hostname)) {
    return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not a local name (set allowedHosts to serve it)`);
  }
  // A browser page from another site may not call a local endpoint (its Origin says where it comes from).
  const origin = request.headers.get("origin");
  const originHost = origin !== null && URL.canParse(origin) ? new URL(origin).hostname : undefined;
  if (origin !== null && LOOPBACK_HOSTS.has(hostname) && (originHost === undefined || !LOOPBACK_HOSTS.has(originHost))) {
    return jsonRpcError(403, -32000, `Forbidden: Origin ${origin} may not call a local MCP server (set allowedHosts / cors)`);
  }
  return undefined;
}

/** True when the server listens on loopback (or on every interface, loopback included). */
export function isLocalListener(url: URL): boolean {
  return LOCAL_LISTEN.has(url.hostname);
}

/**
 * The public URL of the endpoint, which tokens are issued for: `configured` (auth.resource), else
 * what the client addressed (the Host header, checked against DNS rebinding first) — not the address
 * the server listens on, which a proxy or a host name hides.
 */
export function resourceUrl(request: Request, url: URL, base: string, configured: string | undefined, allowedHosts: string[] | undefined, listen: URL = url): string {
  if (configured !== undefined) return configured;
  if (!allowedHosts && !isLocalListener(listen)) {
    throw new TypeError("auth on a public interface needs auth.resource (the endpoint's public URL) or allowedHosts: the Host header alone cannot be trusted to name the resource tokens are for");
  }
  // The gateway built `url` from the Host header, and its scheme from X-Forwarded-Proto only when a proxy on loopback sent it.
  return `${url.protocol}//${url.host}${base}`;
}


/** "/mcp/" → "/mcp", "" → "/", "mcp" → "/mcp". */
export function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}
