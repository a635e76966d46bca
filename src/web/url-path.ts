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

/** Clients that do not encode names (e.g. "100%") still reach their agent: bad escapes stay as typed. */
export function decodePathSegment(segment: string): string {
  if (!segment.includes("%")) return segment; // nothing to decode: decodeURIComponent's scan costs more than a request's routing
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
