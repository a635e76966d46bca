import { validateOriginHeader } from "@modelcontextprotocol/server";
import { listenerOf } from "../../gateway/serve.ts";
import { jsonRpcError } from "./responses.ts";
import { hostnameOf } from "../../web/host-header.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
/** Listening on every interface includes loopback: such a server is protected as a local one. */
const LOCAL_LISTEN = new Set([...LOOPBACK_HOSTS, "0.0.0.0", "[::]", "::"]);

/**
 * Who may reach an MCP endpoint: the host names it answers to (DNS rebinding) and the pages, by their
 * `Origin`, that may call it (the MCP transport spec: a server validates `Origin`, 403 when invalid).
 */
export interface RequestGuard {
  /** Host names accepted in `Host`; undefined: local names when the server listens on loopback, else any. */
  readonly hosts: readonly string[] | undefined;
  /** Origin host names accepted; `"*"`: any; undefined: the default of {@link originsAllowed}. */
  readonly origins: readonly string[] | "*" | undefined;
  /** The host name of the single origin the CORS headers name, accepted by default as the Agents SDK does. */
  readonly corsOrigin: string | undefined;
  /** The options that set `hosts` and `origins`, named in refusals. */
  readonly optionNames: { readonly hosts: string; readonly origins: string };
}

/**
 * A guard from an endpoint's options, their shapes checked once. `corsAllowOrigin`: the
 * `Access-Control-Allow-Origin` the endpoint sends, if any.
 */
export function requestGuard(
  hosts: string[] | undefined,
  origins: string[] | "*" | undefined,
  corsAllowOrigin: string | undefined,
  optionNames: RequestGuard["optionNames"],
): RequestGuard {
  if (hosts !== undefined && !isStringList(hosts)) throw new TypeError(`${optionNames.hosts}: expected an array of host names`);
  if (origins !== undefined && origins !== "*" && !isStringList(origins)) {
    throw new TypeError(`${optionNames.origins}: expected an array of host names, or "*"`);
  }
  return {
    hosts: hosts?.map((host) => host.toLowerCase()),
    origins: origins === undefined || origins === "*" ? origins : origins.map((origin) => origin.toLowerCase()),
    corsOrigin: corsOriginHostname(corsAllowOrigin),
    optionNames,
  };
}

/**
 * The address the server that received a request listens on: the gateway's (kept on the request's
 * `ctx`), else the request's own URL (a request made in the process, without a server).
 */
export function listenAddress(ctx: unknown, url: URL): URL {
  const listener = listenerOf(ctx);
  return listener === undefined ? url : new URL(listener);
}

/**
 * The 403 to answer a request with when its `Host` or `Origin` is not allowed, else undefined.
 * `listen`: the address the server listens on ({@link listenAddress}); the request's URL names the
 * host the client asked for.
 */
export function checkRequest(request: Request, url: URL, guard: RequestGuard, listen: URL = url): Response | undefined {
  return checkHost(request, url, guard, listen) ?? checkOrigin(request, url, guard);
}

/** DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends `Host: evil.example`. */
function checkHost(request: Request, url: URL, guard: RequestGuard, listen: URL): Response | undefined {
  const host = request.headers.get("host") ?? url.host;
  const hostname = hostnameOf(host).toLowerCase();
  if (guard.hosts) {
    if (guard.hosts.includes(hostname)) return undefined;
    return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not allowed (${guard.optionNames.hosts})`);
  }
  if (isLocalListener(listen) && !LOOPBACK_HOSTS.has(hostname)) {
    return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not a local name (set ${guard.optionNames.hosts} to serve it)`);
  }
  return undefined;
}

/** A browser page from another site may not call the endpoint: its `Origin` says where it comes from. */
function checkOrigin(request: Request, url: URL, guard: RequestGuard): Response | undefined {
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  const allowed = originsAllowed(request, url, guard);
  if (allowed === undefined || validateOriginHeader(origin, allowed).ok) return undefined;
  return jsonRpcError(403, -32000, `Forbidden: Origin ${origin} may not call this MCP endpoint (set ${guard.optionNames.origins})`);
}

/**
 * The Origin host names accepted (undefined: any). Unless set, the pages of the names the endpoint
 * answers to — its allowed hosts, or local names on a local endpoint — and the origin its CORS headers
 * name. An endpoint on a public name without allowed hosts cannot tell its own pages from others, so
 * it checks none.
 */
function originsAllowed(request: Request, url: URL, guard: RequestGuard): string[] | undefined {
  if (guard.origins === "*") return undefined;
  if (guard.origins !== undefined) return [...guard.origins];
  const hostname = hostnameOf(request.headers.get("host") ?? url.host).toLowerCase();
  const pages = guard.hosts ?? (LOOPBACK_HOSTS.has(hostname) ? [...LOOPBACK_HOSTS] : undefined);
  if (pages === undefined) return undefined;
  return guard.corsOrigin === undefined ? [...pages] : [...pages, guard.corsOrigin];
}

function corsOriginHostname(allowOrigin: string | undefined): string | undefined {
  if (allowOrigin === undefined || !URL.canParse(allowOrigin)) return undefined;
  const url = new URL(allowOrigin);
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" ? url.hostname : undefined;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
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
export function resourceUrl(request: Request, url: URL, base: string, configured: string | undefined, allowedHosts: readonly string[] | undefined, listen: URL = url): string {
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
