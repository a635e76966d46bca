/**
 * The outbound address guard: an agent's requests to outside systems (integrations, outbound
 * webhooks, A2A push notifications) may not reach the host's own network — loopback, private ranges,
 * link-local (the cloud metadata address 169.254.169.254), CGNAT, multicast — unless allowed. This is
 * the usual defence against server-side request forgery: a URL that came from a user or a model must
 * not become a request to an internal service.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { classifyAddress, inCidr, parseCidr, type AddressClass } from "./ip-ranges.ts";

export { classifyAddress, type AddressClass, type AddressKind } from "./ip-ranges.ts";

/** One address a host name resolves to. */
export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (as `dns.lookup(host, { all: true })` does). */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** What the guard lets through besides public addresses. */
export interface AddressGuardOptions {
  /** Allow every address (loopback, private ranges, …): the guard only checks the scheme. Default false. */
  allowPrivate?: boolean;
  /**
   * Destinations allowed even though they are not public: a host name (`"hooks.internal"`), every
   * subdomain of one (`"*.corp.example"`, not the name itself), an IP address (`"10.0.0.5"`,
   * `"::1"`) or a CIDR range (`"10.20.0.0/16"`). Names match the URL's host; addresses and ranges
   * match the address it resolves to (or the URL's host when it is an address).
   */
  allowHosts?: readonly string[];
  /** Name resolution; default `dns.lookup` with `all: true`. Replaceable for tests. */
  lookup?: HostLookup;
}

/** Error codes of {@link OutboundAddressError}. */
export type OutboundAddressErrorCode = "OUTBOUND_BAD_URL" | "OUTBOUND_BAD_SCHEME" | "OUTBOUND_ADDRESS_REFUSED";

/**
 * An outbound request was refused before it was sent: the URL is not http(s), or its host is (or
 * resolves to) an address that is not public and was not allowed. Messages name the URL's origin
 * (never its path or query, which may hold a token), the address, its range, and how to allow it.
 */
export class OutboundAddressError extends Error {
  override readonly name = "OutboundAddressError";
  readonly code: OutboundAddressErrorCode;
  /** The origin of the refused URL (scheme, host and port), when it parsed. */
  readonly origin: string | undefined;
  /** The host name of the refused URL. */
  readonly hostname: string | undefined;
  /** The refused address and what it is, for OUTBOUND_ADDRESS_REFUSED. */
  readonly address: string | undefined;
  readonly kind: AddressClass["kind"] | undefined;

  constructor(
    message: string,
    details: { code: OutboundAddressErrorCode; origin?: string; hostname?: string; address?: string; kind?: AddressClass["kind"] },
  ) {
    super(message);
    this.code = details.code;
    this.origin = details.origin;
    this.hostname = details.hostname;
    this.address = details.address;
    this.kind = details.kind;
  }
}

/** The default name resolution: `dns.lookup` with every address, in the resolver's order. */
export const defaultLookup: HostLookup = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

/** The parsed allow list: names, wildcard suffixes and address ranges. */
export interface AllowList {
  readonly allowPrivate: boolean;
  readonly names: ReadonlySet<string>;
  readonly suffixes: readonly string[];
  readonly ranges: readonly string[];
}

/**
 * Validates and parses `allowHosts` once (the guarded fetch does this at creation, so a typo fails
 * early rather than at the first request).
 * @throws TypeError naming the bad entry
 */
export function compileAllowList(options: AddressGuardOptions = {}): AllowList {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const ranges: string[] = [];
  const list = options.allowHosts ?? [];
  if (!Array.isArray(list)) throw new TypeError("allowHosts must be an array of host names, addresses or CIDR ranges");
  for (const entry of list as unknown[]) {
    if (typeof entry !== "string" || entry.trim() === "") {
      throw new TypeError(`allowHosts: each entry is a host name, an address or a CIDR range, got ${JSON.stringify(entry)}`);
    }
    const text = entry.trim().toLowerCase();
    if (parseCidr(text)) ranges.push(text);
    else if (text.startsWith("*.") && isHostName(text.slice(2))) suffixes.push(text.slice(1));
    else if (isHostName(text)) names.add(stripDot(text));
    else {
      throw new TypeError(
        `allowHosts: ${JSON.stringify(entry)} is not a host name ("hooks.internal", "*.corp.example"), an address ("10.0.0.5") or a CIDR range ("10.0.0.0/8")`,
      );
    }
  }
  return { allowPrivate: options.allowPrivate === true, names, suffixes, ranges };
}

/**
 * Refuses a URL an agent must not send a request to: any scheme but http and https, and any host
 * that is, or resolves to, a non-public address (all of its addresses are checked) unless allowed
 * by `allowPrivate` or `allowHosts`. Resolves when the destination is fine.
 *
 * @throws OutboundAddressError when refused; TypeError when the host name cannot be resolved
 * @example
 * await assertPublicDestination("https://hooks.slack.com/services/T000/B000/XXX"); // fine
 * await assertPublicDestination("http://169.254.169.254/latest/meta-data/");
 * // OutboundAddressError: Outbound request to http://169.254.169.254 refused: 169.254.169.254 is a
 * // link-local address (169.254.0.0/16); allow it with allowPrivate: true or allowHosts: ["169.254.169.254"]
 */
export async function assertPublicDestination(url: string | URL, options: AddressGuardOptions = {}): Promise<void> {
  await checkDestination(url, compileAllowList(options), options.lookup ?? defaultLookup);
}

/** {@link assertPublicDestination} with a compiled allow list. Returns the parsed URL. */
export async function checkDestination(url: string | URL, allow: AllowList, lookup: HostLookup = defaultLookup): Promise<URL> {
  const parsed = parseOutboundUrl(url);
  const hostname = hostOf(parsed);
  if (allow.allowPrivate || hostAllowedByName(hostname, allow)) return parsed;
  if (isIP(hostname)) {
    refuseIfNotAllowed(parsed.origin, hostname, hostname, allow, false);
    return parsed;
  }
  const addresses = await resolve(parsed, hostname, lookup);
  for (const { address } of addresses) refuseIfNotAllowed(parsed.origin, hostname, address, allow, true);
  return parsed;
}

/**
 * What can be checked without DNS: the scheme, and the host when it is an address literal (a host
 * name is left to {@link assertPublicDestination} when the request is made). Synchronous, for APIs
 * that record a request now and send it later.
 * @throws OutboundAddressError
 * @example
 * assertPublicLiteral("http://10.0.0.5/hook"); // OutboundAddressError: … 10.0.0.5 is a private address …
 */
export function assertPublicLiteral(url: string | URL, options: AddressGuardOptions = {}): void {
  const parsed = parseOutboundUrl(url);
  const allow = compileAllowList(options);
  const hostname = hostOf(parsed);
  if (allow.allowPrivate || hostAllowedByName(hostname, allow) || !isIP(hostname)) return;
  refuseIfNotAllowed(parsed.origin, hostname, hostname, allow, false);
}

/**
 * Checks the addresses a host resolved to at connect time (the guarded fetch's DNS hook): throws
 * the same error as {@link assertPublicDestination} for the first one refused.
 */
export function checkResolved(hostname: string, addresses: readonly LookupAddress[], allow: AllowList, origin: string): void {
  const host = stripDot(hostname.toLowerCase());
  if (allow.allowPrivate || hostAllowedByName(host, allow)) return;
  for (const { address } of addresses) refuseIfNotAllowed(origin, host, address, allow, true);
}

/** Resolves a host with the guard's lookup, as a TypeError like fetch's own network errors. */
export async function resolve(url: URL, hostname: string, lookup: HostLookup): Promise<readonly LookupAddress[]> {
  let addresses: readonly LookupAddress[];
  try {
    addresses = await lookup(hostname);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TypeError(`Outbound request to ${url.origin} failed: cannot resolve ${JSON.stringify(hostname)}${typeof code === "string" ? ` (${code})` : ""}`, {
      cause: error,
    });
  }
  if (addresses.length === 0) throw new TypeError(`Outbound request to ${url.origin} failed: ${JSON.stringify(hostname)} resolves to no address`);
  return addresses;
}

/** `url` as an http(s) URL, or an {@link OutboundAddressError} that shows its scheme and host only. */
export function parseOutboundUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(String(url));
  } catch {
    throw new OutboundAddressError(`Outbound request refused: ${JSON.stringify(hostPartOf(String(url)))} is not a valid absolute URL`, {
      code: "OUTBOUND_BAD_URL",
    });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new OutboundAddressError(
      `Outbound request to ${parsed.protocol}//${parsed.host} refused: only http: and https: URLs are allowed, got ${JSON.stringify(parsed.protocol)}`,
      { code: "OUTBOUND_BAD_SCHEME", origin: `${parsed.protocol}//${parsed.host}`, hostname: parsed.hostname },
    );
  }
  return parsed;
}

/**
 * What would be the scheme and host of text that is not a URL, at most 40 characters, with "…" for
 * what was left out: never its path or query, which a webhook URL's secret often is.
 */
function hostPartOf(text: string): string {
  const start = /^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*/i.exec(text)?.[0] ?? "";
  // Nor a user and password before an @.
  const at = start.lastIndexOf("@");
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(start)?.[0] ?? "";
  const shown = (at === -1 ? start : `${scheme}…@${start.slice(at + 1)}`).slice(0, 40);
  return shown.length < text.length ? `${shown}…` : shown;
}

/** The URL's host without IPv6 brackets and without a trailing dot, lower case. */
function hostOf(url: URL): string {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return stripDot(host.toLowerCase());
}

function hostAllowedByName(hostname: string, allow: AllowList): boolean {
  if (allow.names.has(hostname)) return true;
  return allow.suffixes.some((suffix) => hostname.endsWith(suffix) && hostname.length > suffix.length);
}

function refuseIfNotAllowed(origin: string, hostname: string, address: string, allow: AllowList, resolved: boolean): void {
  const found = classifyAddress(address);
  if (!found || allow.ranges.some((range) => inCidr(address, range))) return;
  const article = /^[aeiou]/.test(found.kind) ? "an" : "a";
  const subject = resolved ? `${JSON.stringify(hostname)} resolves to ${address},` : `${address} is`;
  const name = resolved ? `${JSON.stringify(hostname)}, ${JSON.stringify(address)}` : JSON.stringify(address);
  throw new OutboundAddressError(
    `Outbound request to ${origin} refused: ${subject} ${article} ${found.kind} address (${found.range}); allow it with allowPrivate: true or allowHosts: [${name}]`,
    { code: "OUTBOUND_ADDRESS_REFUSED", origin, hostname, address, kind: found.kind },
  );
}

function isHostName(text: string): boolean {
  return /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(text) && text.length <= 253;
}

function stripDot(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}
