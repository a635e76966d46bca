/** Reading the path of a request's URL without parsing the whole URL, and its segments. */

/** The path of an absolute URL without parsing all of it (a `new URL` per request costs more than the metrics). */
export function pathnameOf(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return "/";
  let end = url.length;
  for (const mark of ["?", "#"]) {
    const at = url.indexOf(mark, start);
    if (at !== -1 && at < end) end = at;
  }
  return url.slice(start, end);
}

/**
 * A path segment decoded, where a bad escape (`100%`, `%ED%A0%80`) stays as typed: for placing a
 * request (which thread's agent it is for) without failing on it. Routing refuses such a name
 * ({@link decodeNameSegment}), wherever it was placed.
 */
export function decodePathSegment(segment: string): string {
  if (!segment.includes("%")) return segment; // nothing to decode: decodeURIComponent's scan costs more than a request's routing
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A path segment that is not valid percent-encoding of UTF-8 (`100%`, `%ED%A0%80`, a lone surrogate's bytes). */
export class MalformedPathSegmentError extends TypeError {
  override name = "MalformedPathSegmentError";
}

/**
 * A name in a path (an agent's, a sub-agent's) decoded; a segment that is not valid percent-encoding
 * throws {@link MalformedPathSegmentError}: taken as typed, `%ED%A0%80` and `%25ED%25A0%2580` would
 * name the same agent.
 * @example decodeNameSegment("caf%C3%A9") // "café"
 * @example decodeNameSegment("100%") // throws
 */
export function decodeNameSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedPathSegmentError(`The name ${JSON.stringify(segment.slice(0, 100))} in the path is not valid percent-encoding (encode names with encodeURIComponent)`);
  }
}
