/**
 * URL patterns of `_redirects` and `_headers`: `*` is a splat (anything, `/` included, captured as
 * `:splat`), `:name` a placeholder (one path segment, or one host label), everything else literal.
 * A pattern starting with `https://` is matched against `https://<host><path>`, others against the path.
 * @module
 */

/** A compiled pattern. */
export interface UrlPattern {
  /** The pattern as written. */
  readonly source: string;
  readonly crossHost: boolean;
  readonly regExp: RegExp;
}

const TOKEN = /\*|:[A-Za-z]\w*|[^*:]+|:/g;

/**
 * Compiles a pattern; undefined when it cannot be (two splats, or one placeholder name twice).
 * @example
 * matchUrlPattern(compileUrlPattern("/blog/:slug")!, new URL("https://x.dev/blog/hello")); // { slug: "hello" }
 */
export function compileUrlPattern(source: string): UrlPattern | undefined {
  const crossHost = source.startsWith("https://");
  const pathStart = crossHost ? indexOrEnd(source, "/", "https://".length) : 0;
  let out = "";
  for (const match of source.matchAll(TOKEN)) {
    const token = match[0];
    if (token === "*") out += "(?<splat>.*)";
    else if (token.length > 1 && token.startsWith(":")) {
      const inHost = match.index < pathStart;
      out += `(?<${token.slice(1)}>${inHost ? "[^/.]+" : "[^/]+"})`;
    } else out += escapeRegExp(token);
  }
  try {
    return { source, crossHost, regExp: new RegExp(`^${out}$`) };
  } catch {
    return undefined;
  }
}

/** The captured values when `url` matches, else undefined. */
export function matchUrlPattern(pattern: UrlPattern, url: URL): Record<string, string> | undefined {
  const subject = pattern.crossHost ? `https://${url.hostname}${url.pathname}` : url.pathname;
  const match = pattern.regExp.exec(subject);
  if (match === null) return undefined;
  return { ...match.groups };
}

/** `template` with each `:name` it holds replaced by its captured value; unknown names stay as written. */
export function fillPlaceholders(template: string, values: Record<string, string>): string {
  // Own names only: `:constructor` or `:toString` must not find Object.prototype's functions.
  return template.replace(/:([A-Za-z]\w*)/g, (whole, name: string) => (Object.hasOwn(values, name) ? values[name]! : whole));
}

/** True when the pattern has a splat or a placeholder (a "dynamic" rule). */
export function isDynamicPattern(source: string): boolean {
  return source.includes("*") || /:[A-Za-z]\w*/.test(source);
}

function indexOrEnd(text: string, search: string, from: number): number {
  const index = text.indexOf(search, from);
  return index === -1 ? text.length : index;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&");
}
