/**
 * Where a request arrived from, as Cloudflare shows it to a worker: `request.url` is the URL the
 * client asked for (its `Host`, and `https` when a local proxy says it terminated TLS).
 *
 * A proxy is trusted when the TCP peer is a loopback address (nginx on the same machine, as in
 * docs/deploy.md): only then does `X-Forwarded-Proto` count. Read off Node's raw header list in one
 * pass, without building Node's header object or parsing a URL.
 */
import type { IncomingMessage } from "node:http";

/** The headers read here, by length then lowercased name (the scan compares lengths first). */
const HOST = "host";
const FORWARDED_PROTO = "x-forwarded-proto";

/** `name[:port]` or `[ipv6][:port]`: what a URL's authority may hold, minus userinfo; at most 253 + 6 characters. */
const VALID_HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** The last Host value found valid: a server mostly sees one or two, so most requests skip the pattern. */
let lastValidHost = "";

/**
 * Whether `value` (a Host header) names a host a URL can be built on: a DNS name or IPv4 address, or a
 * bracketed IPv6 address, with an optional port up to 65535. Anything else (spaces, `@`, `/`, over
 * 259 characters, an empty value) is not used.
 * @example isValidHost("app.example.com:8443") // true
 * @example isValidHost("evil.example/@x") // false
 */
export function isValidHost(value: string): boolean {
  if (value === lastValidHost) return true;
  // The pattern keeps out what would change the URL's meaning (`@`, `/`, `?`, `#`, spaces); the
  // parse, what URLs refuse (a port over 65535, `foo.123` read as a bad IPv4 address).
  if (!VALID_HOST.test(value) || !URL.canParse(`http://${value}/`)) return false;
  lastValidHost = value;
  return true;
}

/**
 * Whether `address` (a socket's `remoteAddress`) is a loopback address: 127.0.0.0/8, ::1, or an
 * IPv4-mapped 127.x address. Undefined (a socket already closed) is not.
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

/** The scheme a trusted proxy reports: `https` when the first value of `X-Forwarded-Proto` is https. */
function forwardedHttps(value: string): boolean {
  const comma = value.indexOf(",");
  return (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase() === "https";
}

/**
 * The origin of a request's URL (`https://app.example.com`): the Host header when it is a valid
 * host, else `listenHost` (the address the server listens on, `127.0.0.1:8787`); `https` only when
 * the peer is loopback and sends `X-Forwarded-Proto: https`.
 * @example originOf(incoming, "127.0.0.1:8787") // "http://app.example.com" for `Host: app.example.com`
 */
export function originOf(incoming: IncomingMessage, listenHost: string): string {
  const raw = incoming.rawHeaders;
  let host: string | undefined;
  let proto: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4) {
      if (host === undefined && name.toLowerCase() === HOST) host = raw[i + 1]!;
    } else if (name.length === 17 && proto === undefined && name.toLowerCase() === FORWARDED_PROTO) proto = raw[i + 1]!;
  }
  const authority = host !== undefined && isValidHost(host) ? host : listenHost;
  const https = proto !== undefined && forwardedHttps(proto) && isLoopback(incoming.socket?.remoteAddress);
  return `${https ? "https" : "http"}://${authority}`;
}
