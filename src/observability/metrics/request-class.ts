/** The label of a request outside `/{prefix}/{class}/…`, or naming a class that is not served. */
export const NO_CLASS = "none";

/**
 * The agent class a request is for, from its path `/{prefix}/{slug}/{name}/…`, as a bounded label
 * value: a registered class name, else {@link NO_CLASS}. Never the instance name.
 */
export function requestClass(pathname: string, prefix: string, classOf: (slug: string) => string | undefined): string {
  const head = `/${prefix}/`;
  if (!pathname.startsWith(head)) return NO_CLASS;
  const end = pathname.indexOf("/", head.length);
  const slug = pathname.slice(head.length, end === -1 ? undefined : end);
  if (slug === "") return NO_CLASS;
  let decoded: string;
  try {
    decoded = decodeURIComponent(slug);
  } catch {
    return NO_CLASS;
  }
  return classOf(decoded) ?? NO_CLASS;
}

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
