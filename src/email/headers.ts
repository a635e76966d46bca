import { EmailError } from "./errors.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { EmailHeader } from "./types.ts";

/** A header field name as RFC 5322 allows it (printable ASCII without the colon). */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** The names a `Headers` object accepts (HTTP tokens). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The header fields of a raw message as `{ key, value }` (lower-case key, folded lines joined),
 * in order. Values are kept as written: encoded words are not decoded, bytes above ASCII are
 * read as Latin-1 so that each byte stays one character (what a `Headers` object can carry).
 * @throws {EmailError} "limit" when the header block is over `maxHeaderBytes` or holds more than
 * `maxHeaderFields` fields: scanning stops there, so a message of headers only costs no more than that.
 */
export function parseHeaderBlock(raw: Uint8Array): EmailHeader[] {
  const text = Buffer.from(raw.buffer, raw.byteOffset, headerBlockLength(raw)).toString("latin1");
  const headers: EmailHeader[] = [];
  for (const line of text.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trimEnd();
    if (!FIELD_NAME.test(name)) continue;
    if (headers.length === EMAIL_LIMITS.maxHeaderFields) {
      throw new EmailError("limit", `The message has more than ${EMAIL_LIMITS.maxHeaderFields} header fields (maxHeaderFields)`);
    }
    headers.push({ key: name.toLowerCase(), value: line.slice(colon + 1).replace(/\r?\n[ \t]/g, " ").trim() });
  }
  return headers;
}

/**
 * Bytes up to (not including) the blank line that ends the header block; all of it when there is
 * none. Looks no further than `maxHeaderBytes`.
 */
function headerBlockLength(raw: Uint8Array): number {
  const max = EMAIL_LIMITS.maxHeaderBytes;
  // A blank line right after byte `max` still ends a block of `max` bytes: look two bytes further.
  const end = Math.min(raw.length - 1, max + 1);
  for (let i = 0; i < end; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return i;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i;
  }
  if (raw.length > max) throw new EmailError("limit", `The message's header block is larger than ${max} bytes (maxHeaderBytes)`);
  return raw.length;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const NOT_ASCII = /[\x80-\xff]/;

/**
 * A header value held as its bytes (one character per byte) read as the text it spells: UTF-8 when
 * the bytes are valid UTF-8 (RFC 6532 headers, as Cloudflare decodes them), else as it is (no byte
 * is lost to U+FFFD).
 * @example decodedHeaderValue("GrÃ¼Ãe") // "Grüße"
 */
export function decodedHeaderValue(bytes: string): string {
  if (!NOT_ASCII.test(bytes)) return bytes;
  try {
    return STRICT_UTF8.decode(Buffer.from(bytes, "latin1"));
  } catch {
    return bytes;
  }
}

/**
 * An inbound message's headers: kept as bytes (what Node's `Headers` can hold) and read as text, so
 * `headers.get("subject")` of a UTF-8 subject is the subject, as on Cloudflare. Iterating gives the
 * fields as held: a copy (`new Headers(email.headers)`, a `fetch`) takes them as they are, and sends
 * the same bytes on.
 */
class EmailHeaders extends Headers {
  override get(name: string): string | null {
    const value = super.get(name);
    return value === null ? null : decodedHeaderValue(value);
  }

  override getSetCookie(): string[] {
    return super.getSetCookie().map(decodedHeaderValue);
  }
}

/** A `Headers` object of the fields (those whose names HTTP also accepts; repeated fields are joined with ", "), read as text. */
export function toHeaders(fields: readonly EmailHeader[]): Headers {
  const headers = new EmailHeaders();
  for (const { key, value } of fields) {
    if (!TOKEN.test(key)) continue;
    try {
      headers.append(key, value);
    } catch {
      // A value Headers refuses (control characters): still in getRaw().
    }
  }
  return headers;
}

/** The fields as a list, from either form. */
function listOf(headers: readonly EmailHeader[] | Headers): EmailHeader[] {
  if (headers instanceof Headers) return [...headers].map(([key, value]) => ({ key, value }));
  return headers.map((h) => ({ key: h.key.toLowerCase(), value: h.value }));
}

/**
 * The headers as an object, lower-case names to values (the last one wins).
 * @example
 * const headers = parseEmailHeaders((await PostalMime.parse(raw)).headers);
 * headers["content-type"];
 */
export function parseEmailHeaders(headers: readonly EmailHeader[] | Headers): Record<string, string> {
  const result: Record<string, string> = {};
  for (const { key, value } of listOf(headers)) result[key] = value;
  return result;
}

/**
 * The first value of a header, by name in any case; undefined when absent.
 * @example
 * const priority = getEmailHeader(parsed.headers, "X-Priority");
 */
export function getEmailHeader(headers: readonly EmailHeader[] | Headers, name: string): string | undefined {
  const key = name.toLowerCase();
  return listOf(headers).find((h) => h.key === key)?.value;
}

/**
 * Whether a header is present, by name in any case.
 * @example
 * if (hasEmailHeader(parsed.headers, "List-Unsubscribe")) return;
 */
export function hasEmailHeader(headers: readonly EmailHeader[] | Headers, name: string): boolean {
  return getEmailHeader(headers, name) !== undefined;
}

/**
 * Whether any of the headers is present.
 * @example
 * hasAnyEmailHeader(parsed.headers, ["X-Spam-Flag", "X-Spam-Score"]);
 */
export function hasAnyEmailHeader(headers: readonly EmailHeader[] | Headers, names: readonly string[]): boolean {
  const keys = new Set(names.map((n) => n.toLowerCase()));
  return listOf(headers).some((h) => keys.has(h.key));
}

/**
 * Every value of a header that may repeat (Received, …), in order.
 * @example
 * const hops = getAllEmailHeaders(parsed.headers, "Received");
 */
export function getAllEmailHeaders(headers: readonly EmailHeader[] | Headers, name: string): string[] {
  const key = name.toLowerCase();
  return listOf(headers)
    .filter((h) => h.key === key)
    .map((h) => h.value);
}

const AUTO_PRECEDENCE = new Set(["bulk", "junk", "list", "auto_reply"]);
const AUTO_SUBJECT = /\b(auto[- ]?reply|automatic reply|out of (the )?office|autoresponse)\b/i;

/**
 * Whether a message was sent automatically (RFC 3834 and common practice), so an agent does not
 * answer it and start a mail loop: `Auto-Submitted` other than `no`, any `X-Auto-Response-Suppress`,
 * `Precedence: bulk | junk | list | auto_reply`, or, when `subject` is given, an auto-reply subject
 * ("Automatic reply", "Out of office", "Auto-Reply", "Autoreply"). Takes postal-mime's header list
 * or a `Headers` object (`email.headers`).
 * @example
 * if (isAutoReplyEmail(email.headers)) return; // never answer an out-of-office
 */
export function isAutoReplyEmail(headers: readonly EmailHeader[] | Headers, subject?: string): boolean {
  const fromHeaders = listOf(headers).some(({ key, value }) => {
    const v = value.trim().toLowerCase();
    if (key === "auto-submitted") return v !== "" && !v.startsWith("no");
    if (key === "x-auto-response-suppress") return true;
    if (key === "precedence") return AUTO_PRECEDENCE.has(v);
    return false;
  });
  return fromHeaders || (subject !== undefined && AUTO_SUBJECT.test(subject));
}
