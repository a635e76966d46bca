/**
 * Which IP addresses are not on the public internet: the ranges an outbound request from an agent is
 * refused unless allowed. IPv6 forms that carry an IPv4 address (mapped, translated, compatible,
 * NAT64, 6to4) are judged by the IPv4 address inside them, so `::ffff:127.0.0.1` is loopback too.
 */
import { isIPv4, isIPv6 } from "node:net";

/** Why an address is not public. */
export type AddressKind =
  | "loopback"
  | "private"
  | "link-local"
  | "shared (CGNAT)"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved";

interface Range {
  /** Address bytes (4 or 16) of the network. */
  network: Uint8Array;
  bits: number;
  kind: AddressKind;
  /** Short name shown in error messages, e.g. "127.0.0.0/8". */
  cidr: string;
}

/** A non-public address: its kind and the range it falls in. */
export interface AddressClass {
  kind: AddressKind;
  range: string;
}

const V4: ReadonlyArray<[string, AddressKind]> = [
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared (CGNAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "reserved"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "reserved"],
  ["198.51.100.0/24", "reserved"],
  ["203.0.113.0/24", "reserved"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"],
];

const V6: ReadonlyArray<[string, AddressKind]> = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's prefix length
  // (RFC 6052), so it cannot be read safely; the whole prefix is refused.
  ["64:ff9b:1::/48", "reserved"],
  ["100::/64", "reserved"],
  // Teredo: an IPv4 client (and server) behind a tunnel; obsolete, refused whole.
  ["2001::/32", "reserved"],
  ["2001:db8::/32", "reserved"],
  ["fc00::/7", "private"],
  ["fec0::/10", "private"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
];

const RANGES_V4 = V4.map(([cidr, kind]) => toRange(cidr, kind));
const RANGES_V6 = V6.map(([cidr, kind]) => toRange(cidr, kind));

/**
 * The class of a non-public address, or undefined for a public one (and for text that is not an IP
 * address). IPv6 zone ids (`fe80::1%eth0`) and brackets are ignored.
 *
 * @example
 * classifyAddress("169.254.169.254"); // { kind: "link-local", range: "169.254.0.0/16" }
 * classifyAddress("::ffff:10.1.2.3");  // { kind: "private", range: "10.0.0.0/8" }
 * classifyAddress("93.184.216.34");    // undefined
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const bytes = parseIp(address);
  if (!bytes) return undefined;
  if (bytes.length === 4) return match(bytes, RANGES_V4);
  const embedded = embeddedIPv4(bytes);
  if (embedded) return match(embedded, RANGES_V4);
  return match(bytes, RANGES_V6);
}

/**
 * The bytes of an IPv4 (4) or IPv6 (16) address, or undefined for anything else.
 * @example
 * parseIp("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 */
export function parseIp(text: string): Uint8Array | undefined {
  let address = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  if (isIPv4(address)) return Uint8Array.from(address.split(".").map(Number));
  if (!isIPv6(address)) return undefined;
  const bytes = new Uint8Array(16);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) fills the last 4 bytes.
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(":");
  if (address.slice(lastColon + 1).includes(".")) {
    tail = address.slice(lastColon + 1).split(".").map(Number);
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = address.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/**
 * True when `address` falls in `cidr` ("10.0.0.0/8", "fd00::/8", or a single address). An IPv4
 * address also matches its IPv4-mapped IPv6 form and back.
 * @example
 * inCidr("10.1.2.3", "10.0.0.0/8"); // true
 */
export function inCidr(address: string, cidr: string): boolean {
  const range = parseCidr(cidr);
  let bytes = parseIp(address);
  if (!range || !bytes) return false;
  if (bytes.length !== range.network.length) bytes = bytes.length === 16 ? embeddedIPv4(bytes) : mapped(bytes);
  return bytes !== undefined && bytes.length === range.network.length && prefixMatches(bytes, range.network, range.bits);
}

/** A CIDR range ("10.0.0.0/8"), or a single address as a /32 or /128; undefined when malformed. */
export function parseCidr(cidr: string): { network: Uint8Array; bits: number } | undefined {
  const slash = cidr.indexOf("/");
  const network = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  if (!network) return undefined;
  const max = network.length * 8;
  const bits = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(cidr.slice(slash + 1)))) return undefined;
  return { network, bits };
}

function toRange(cidr: string, kind: AddressKind): Range {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`bad built-in range ${cidr}`);
  return { ...parsed, kind, cidr };
}

function match(bytes: Uint8Array, ranges: readonly Range[]): AddressClass | undefined {
  for (const range of ranges) {
    if (prefixMatches(bytes, range.network, range.bits)) return { kind: range.kind, range: range.cidr };
  }
  return undefined;
}

function prefixMatches(bytes: Uint8Array, network: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i / 8]! ^ network[i / 8]!) & mask) !== 0) return false;
  }
  return true;
}

/**
 * The IPv4 address inside an IPv6 one that carries it: mapped (::ffff:a.b.c.d), translated (SIIT,
 * ::ffff:0:a.b.c.d), compatible (::a.b.c.d, deprecated), NAT64 (64:ff9b::a.b.c.d) and 6to4
 * (2002:aabb:ccdd::).
 */
function embeddedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && zeros(10, 12)) return bytes.slice(12);
  // ::a.b.c.d, but not :: and ::1 themselves (judged as IPv6).
  if (zeros(0, 12) && !(zeros(12, 15) && bytes[15]! <= 1)) return bytes.slice(12);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return bytes.slice(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

function mapped(v4: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(v4, 12);
  return bytes;
}
