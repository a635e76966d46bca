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

export { pathnameOf } from "../../web/url-path.ts";
