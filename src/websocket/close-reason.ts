/** A close frame's reason fits in 123 bytes (125 of control-frame payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** The Workers runtime's reason for an abnormal closure (1006): the connection ended without a close frame. */
export const DISCONNECTED = "WebSocket disconnected without sending Close frame.";

/**
 * The close codes a socket sends: 1000–1014 but 1004–1006 (no status, abnormal), and 3000–4999 — what
 * the `ws` library sends. RFC 6455 reserves 1015–2999 (Cloudflare accepts 1016–2999; clients may take
 * them for a protocol error).
 * @example isSendableCloseCode(4000) // true
 */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));
}

/**
 * Throws the Workers runtime's TypeError for close arguments a socket cannot send: a code outside
 * {@link isSendableCloseCode}, a reason without a code, a reason over {@link MAX_CLOSE_REASON_BYTES}.
 * @example checkCloseArguments(4000, "bye") // fine; checkCloseArguments(1005) throws
 */
export function checkCloseArguments(code: number | undefined, reason: string | undefined): void {
  if (code !== undefined && !isSendableCloseCode(code)) {
    throw new TypeError(
      code > 1015 && code < 3000
        ? `Invalid WebSocket close code: ${code}. Hearth sends 1000–1003, 1007–1014 and 3000–4999; 1016–2999 are reserved by RFC 6455 (Cloudflare accepts them, but clients may take them for a protocol error).`
        : `Invalid WebSocket close code: ${code}.`,
    );
  }
  if (reason !== undefined && code === undefined) throw new TypeError("If you specify a WebSocket close reason, you must also specify a code.");
  if (reason !== undefined && Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new TypeError(`The WebSocket close reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8, got ${Buffer.byteLength(reason)}.`);
  }
}

const ELLIPSIS = "…";
const ELLIPSIS_BYTES = 3;

/**
 * `reason` cut to a close frame's 123 bytes of UTF-8, at a character boundary, ending in "…" when cut:
 * for reasons made from error messages of any length (a close with a longer one throws).
 * @example closeReasonWithin(`Agent failed in onConnect: ${error.message}`)
 */
export function closeReasonWithin(reason: string): string {
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3 || Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let bytes = 0;
  let end = 0;
  // Whole code points only: a cut surrogate pair would become U+FFFD, three bytes that break the bound.
  for (const char of reason) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_CLOSE_REASON_BYTES - ELLIPSIS_BYTES) break;
    bytes += size;
    end += char.length;
  }
  return reason.slice(0, end) + ELLIPSIS;
}
