/** A close frame's reason fits in 123 bytes (125 of control-frame payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

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
