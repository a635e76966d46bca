/**
 * A `fetch` that only reaches allowed destinations. Every URL (the first and each redirect's target)
 * is checked before it is requested, and redirects are followed here, never by fetch itself, so a
 * public URL cannot redirect into the private network. Where the `undici` package can be loaded, the
 * addresses are also checked when the connection is made (its `connect.lookup` hook), which closes
 * the gap a DNS answer changing between the check and the connect (DNS rebinding) would leave.
 */
import type { LookupAddress as DnsLookupAddress } from "node:dns";
import {
  checkDestination,
  checkResolved,
  compileAllowList,
  defaultLookup,
  OutboundAddressError,
  parseOutboundUrl,
  type AddressGuardOptions,
  type HostLookup,
} from "./address-guard.ts";

/** Options of {@link createGuardedFetch}. */
export interface GuardedFetchOptions extends AddressGuardOptions {
  /** The fetch underneath; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Redirects followed (each target checked) before the request fails. Default 20, as fetch's own. */
  maxRedirects?: number;
  /**
   * Check addresses again at connect time through undici's `connect.lookup` (only with the global
   * fetch, and only when the `undici` package is installed). Default true.
   */
  connectTimeCheck?: boolean;
}

/** A fetch-compatible function with the address guard. */
export type GuardedFetch = typeof fetch & {
  /** Releases the connection pool of the connect-time check (idle sockets close on their own too). */
  close(): Promise<void>;
};

/** Redirects followed by default. */
export const DEFAULT_MAX_REDIRECTS = 20;

/** Error codes of {@link OutboundRedirectError}. */
export type OutboundRedirectErrorCode = "OUTBOUND_REDIRECT_REFUSED" | "OUTBOUND_TOO_MANY_REDIRECTS";

/**
 * A redirect the request's own settings refuse: one answered while `redirect` is "error", or one past
 * `maxRedirects`. The host did answer, so this says nothing about its health and a retry gets the same
 * answer. A TypeError, as fetch's own redirect errors are; the message names the origin only.
 */
export class OutboundRedirectError extends TypeError {
  override readonly name = "OutboundRedirectError";
  readonly code: OutboundRedirectErrorCode;
  /** The origin of the requested URL (for "error": of the hop that answered the redirect). */
  readonly origin: string;
  constructor(message: string, details: { code: OutboundRedirectErrorCode; origin: string }) {
    super(message);
    this.code = details.code;
    this.origin = details.origin;
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers dropped when a redirect leaves the origin (they are credentials for the first one). */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

interface Dispatcher {
  close(): Promise<void>;
}
type ConnectLookup = (
  hostname: string,
  options: { family?: number | string; all?: boolean },
  callback: (error: Error | null, address?: string | DnsLookupAddress[], family?: number) => void,
) => void;
type DispatcherClass = new (options: { connect: { lookup: ConnectLookup } }) => Dispatcher;

let undiciAgent: Promise<DispatcherClass | undefined> | undefined;

/** undici's Agent, when the package is installed (it is optional: Node bundles fetch without exporting it). */
function loadUndiciAgent(): Promise<DispatcherClass | undefined> {
  const specifier = "undici"; // a variable, so the build does not require the package
  undiciAgent ??= (import(specifier) as Promise<{ Agent?: DispatcherClass }>).then(
    (module) => module.Agent,
    () => undefined,
  );
  return undiciAgent;
}

/**
 * Makes a fetch that refuses destinations {@link assertPublicDestination} refuses, at every redirect
 * and (with undici installed) at connect time. Request bodies are buffered so that a 307/308
 * redirect can send them again. A refused destination rejects with {@link OutboundAddressError}; a
 * redirect refused by `redirect: "error"` or past `maxRedirects`, with {@link OutboundRedirectError}.
 *
 * @example
 * const guarded = createGuardedFetch({ allowHosts: ["hooks.internal"] });
 * await guarded("https://api.example.com/v1/items"); // fine
 * await guarded("http://10.0.0.7/admin"); // OutboundAddressError: … 10.0.0.7 is a private address (10.0.0.0/8) …
 */
export function createGuardedFetch(options: GuardedFetchOptions = {}): GuardedFetch {
  const allow = compileAllowList(options);
  const lookup = options.lookup ?? defaultLookup;
  const underlying = options.fetch ?? globalThis.fetch;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 100) {
    throw new RangeError(`maxRedirects must be an integer from 0 to 100, got ${String(maxRedirects)}`);
  }
  const wantsConnectCheck = options.connectTimeCheck !== false && options.fetch === undefined && !allow.allowPrivate;
  let dispatcher: Promise<Dispatcher | undefined> | undefined;
  const getDispatcher = (): Promise<Dispatcher | undefined> => {
    dispatcher ??= wantsConnectCheck
      ? loadUndiciAgent().then((Agent) => Agent && new Agent({ connect: { lookup: connectLookup(lookup, allow) } }))
      : Promise.resolve(undefined);
    return dispatcher;
  };

  const guarded = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // A URL Request cannot parse is named by the guard's message, which shows its host only: Node's own
    // shows the whole URL, and a webhook URL's path is often its secret.
    if (!(input instanceof Request)) parseOutboundUrl(String(input));
    const request = new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const extra = await getDispatcher();
    let url = await checkDestination(request.url, allow, lookup);
    let hop = { method: request.method, headers: new Headers(request.headers), body };
    for (let redirects = 0; ; redirects++) {
      const response = await send(underlying, url, hop, request.signal, extra);
      if (!REDIRECT_STATUSES.has(response.status) || request.redirect === "manual") return response;
      const location = response.headers.get("location");
      if (location === null) return response;
      await response.body?.cancel();
      if (request.redirect === "error") {
        throw new OutboundRedirectError(`fetch failed: ${url.origin} answered a redirect and redirect is "error"`, { code: "OUTBOUND_REDIRECT_REFUSED", origin: url.origin });
      }
      if (redirects >= maxRedirects) {
        // The origin only: a webhook URL's path is often its secret.
        const origin = new URL(request.url).origin;
        throw new OutboundRedirectError(`fetch failed: more than ${maxRedirects} redirects (maxRedirects) from ${origin}`, { code: "OUTBOUND_TOO_MANY_REDIRECTS", origin });
      }
      const next = await checkDestination(new URL(location, url), allow, lookup);
      hop = redirected(hop, response.status, url, next);
      url = next;
    }
  };
  return Object.assign(guarded, {
    close: async () => {
      const pool = await dispatcher;
      dispatcher = undefined;
      await pool?.close();
    },
  }) as GuardedFetch;
}

async function send(
  underlying: typeof fetch,
  url: URL,
  hop: { method: string; headers: Headers; body: ArrayBuffer | undefined },
  signal: AbortSignal,
  dispatcher: Dispatcher | undefined,
): Promise<Response> {
  const init: RequestInit & { dispatcher?: Dispatcher } = { method: hop.method, headers: hop.headers, body: hop.body, signal, redirect: "manual" };
  if (dispatcher) init.dispatcher = dispatcher;
  try {
    return await underlying(url, init);
  } catch (error) {
    // fetch wraps the connect-time refusal as "fetch failed"; the refusal itself is what matters.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof OutboundAddressError) throw cause;
    throw error;
  }
}

/** The next hop's request, as fetch's redirect rules make it. */
function redirected(
  hop: { method: string; headers: Headers; body: ArrayBuffer | undefined },
  status: number,
  from: URL,
  to: URL,
): { method: string; headers: Headers; body: ArrayBuffer | undefined } {
  const headers = new Headers(hop.headers);
  let { method, body } = hop;
  if ((status === 303 && method !== "GET" && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    method = "GET";
    body = undefined;
    for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) headers.delete(name);
  }
  if (from.origin !== to.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  return { method, headers, body };
}

/** The connect-time DNS hook: resolves with the guard's lookup and refuses what the guard refuses. */
function connectLookup(lookup: HostLookup, allow: ReturnType<typeof compileAllowList>): ConnectLookup {
  return (hostname, options, callback) => {
    lookup(hostname).then(
      (addresses) => {
        try {
          checkResolved(hostname, addresses, allow, hostname);
        } catch (error) {
          callback(error as Error);
          return;
        }
        const family = Number(options.family) === 4 || options.family === "IPv4" ? 4 : Number(options.family) === 6 || options.family === "IPv6" ? 6 : 0;
        const usable = family === 0 ? addresses : addresses.filter((entry) => entry.family === family);
        const first = usable[0];
        if (!first) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname }));
          return;
        }
        if (options.all) callback(null, usable.map((entry) => ({ address: entry.address, family: entry.family })));
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  };
}
