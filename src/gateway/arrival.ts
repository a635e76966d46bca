/**
 * Where a request arrived from, as Cloudflare shows it to a worker: `request.url` is the URL the
 * client asked for (its `Host`, and `https` when a local proxy says it terminated TLS), and
 * `CF-Connecting-IP` is the client's address, whatever the client sent under that name.
 *
 * A proxy is trusted when the TCP peer is a loopback address (nginx on the same machine, as in
 * docs/deploy.md): only then do `X-Forwarded-Proto`, `CF-Connecting-IP`, `X-Real-IP` and
 * `X-Forwarded-For` count. Read off Node's raw header list in one pass, without building Node's
 * header object or parsing a URL.
 */
import type { IncomingMessage } from "node:http";

/** The headers read here, by length then lowercased name (the scan compares lengths first). */
const HOST = "host";
const FORWARDED_PROTO = "x-forwarded-proto";
const CONNECTING_IP = "cf-connecting-ip";
const REAL_IP = "x-real-ip";
const FORWARDED_FOR = "x-forwarded-for";

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
function isValidHost(value: string): boolean {
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
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

/** The scheme a trusted proxy reports: `https` when the first value of `X-Forwarded-Proto` is https. */
function forwardedHttps(value: string): boolean {
  const comma = value.indexOf(",");
  return (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase() === "https";
}

/** The first address of a list (`X-Forwarded-For: client, proxy1`), trimmed; undefined when empty. */
function firstAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const comma = value.indexOf(",");
  const first = (comma === -1 ? value : value.slice(0, comma)).trim();
  return first === "" ? undefined : first;
}

/**
 * Reads where `incoming` came from: returns the origin of its URL (`https://app.example.com`) and
 * sets its `CF-Connecting-IP` in Node's raw header list (`incoming.rawHeaders`, which the Request,
 * a hand-over to another thread and a moved connection are all made from), replacing what the client
 * sent under that name.
 *
 * - Origin: the Host header when it is a valid host ({@link isValidHost}), else `listenHost` (the
 *   address the server listens on, `127.0.0.1:8787`); `https` only when the peer is loopback and
 *   sends `X-Forwarded-Proto: https`.
 * - CF-Connecting-IP: the TCP peer's address; when the peer is loopback (a local proxy), the
 *   `CF-Connecting-IP` it set, else the first address of its `X-Real-IP`, else of `X-Forwarded-For`,
 *   else the peer's.
 *
 * Node's `incoming.headers`, if something built it already, is not changed.
 * @example const origin = arrive(incoming, "127.0.0.1:8787"); // "http://app.example.com"
 */
export function arrive(incoming: IncomingMessage, listenHost: string): string {
  const raw = incoming.rawHeaders;
  let host: string | undefined;
  let proto: string | undefined;
  let connectingIp: string | undefined;
  let connectingIps = 0;
  let realIp: string | undefined;
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (host === undefined && name.toLowerCase() === HOST) host = raw[i + 1]!;
        break;
      case 17:
        if (proto === undefined && name.toLowerCase() === FORWARDED_PROTO) proto = raw[i + 1]!;
        break;
      case 16:
        if (name.toLowerCase() === CONNECTING_IP) {
          connectingIps += 1;
          connectingIp ??= raw[i + 1]!.trim();
        }
        break;
      case 9:
        if (realIp === undefined && name.toLowerCase() === REAL_IP) realIp = raw[i + 1]!;
        break;
      case 15:
        if (forwardedFor === undefined && name.toLowerCase() === FORWARDED_FOR) forwardedFor = raw[i + 1]!;
        break;
    }
  }
  const peer = incoming.socket?.remoteAddress;
  const proxied = isLoopback(peer);
  const client = proxied ? (connectingIp || firstAddress(realIp) || firstAddress(forwardedFor) || peer) : peer;
  if (connectingIps !== 1 || connectingIp !== client) setConnectingIp(raw, connectingIps, client);
  const authority = host !== undefined && isValidHost(host) ? host : listenHost;
  const https = proxied && proto !== undefined && forwardedHttps(proto);
  return `${https ? "https" : "http"}://${authority}`;
}

/** Leaves one `cf-connecting-ip: client` in the raw list (none when the client's address is unknown). */
function setConnectingIp(raw: string[], present: number, client: string | undefined): void {
  if (present > 0) {
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (raw[i]!.length === 16 && raw[i]!.toLowerCase() === CONNECTING_IP) raw.splice(i, 2);
    }
  }
  if (client !== undefined) raw.push(CONNECTING_IP, client);
}
