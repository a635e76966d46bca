/**
 * The extra headers of an outbound webhook, checked once when it is recorded (so a header fetch
 * cannot send fails the call, not every attempt later) and again when an attempt is prepared.
 */

/**
 * Headers fetch refuses to send, or that the HTTP client must compute itself: each would fail (or
 * corrupt) every attempt.
 */
const UNSENDABLE_HEADERS: ReadonlySet<string> = new Set(["content-length", "transfer-encoding", "keep-alive", "upgrade", "expect"]);

/** An HTTP field name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `fields` as Headers, after `defaults`. Errors name the header, never its value (it may be a token).
 * @throws TypeError `header "x y" is not valid: …`
 * @example
 * toHeaders({ authorization: "Bearer t" }, { "content-type": "application/json" });
 */
export function toHeaders(fields: Record<string, unknown>, defaults: Record<string, string> = {}): Headers {
  const headers = new Headers(defaults);
  for (const [name, value] of Object.entries(fields)) {
    const shown = JSON.stringify(name);
    if (typeof value !== "string") throw new TypeError(`header ${shown} must be a string`);
    if (!TOKEN.test(name)) throw new TypeError(`header ${shown} is not valid: a header name is letters, digits and !#$%&'*+-.^_\`|~ only`);
    if (UNSENDABLE_HEADERS.has(name.toLowerCase())) throw new TypeError(`header ${shown} is not valid: the HTTP client sets it itself`);
    try {
      headers.set(name, value);
    } catch {
      throw new TypeError(`header ${shown} is not valid: its value holds a line break, a NUL or a character past U+00FF`);
    }
  }
  return headers;
}
