/** Node's raw header list (`incoming.rawHeaders`: name, value, name, value…) into web headers. */

/**
 * Puts Node's raw header list into a Request's own headers. Cheaper than a Headers passed in the
 * Request's init, which the constructor validates and copies entry by entry a second time. The result
 * is the same: a body given as a stream or bytes adds no content-type of its own.
 */
export function appendRawHeaders(headers: Headers, rawHeaders: readonly string[]): void {
  for (let i = 0; i < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!, rawHeaders[i + 1]!);
}
