/**
 * URL patterns of `_redirects` and `_headers`: `*` is a splat (anything, `/` included, captured as
 * `:splat`), `:name` a placeholder (one path segment, or one host label), everything else literal.
 * A pattern starting with `https://` is matched against `https://<host><path>`, others against the path.
 * @module
 */

/** A piece of a pattern: literal text, a placeholder (one path segment or host label) or the splat. */
type Token = { readonly kind: "literal"; readonly text: string } | { readonly kind: "placeholder"; readonly name: string; readonly inHost: boolean } | { readonly kind: "splat" };

/** A compiled pattern. */
export interface UrlPattern {
  /** The pattern as written. */
  readonly source: string;
  readonly crossHost: boolean;
  readonly tokens: readonly Token[];
}

/**
 * URLs longer than this match no pattern: Cloudflare refuses them before a Worker sees them (its URL
 * limit is 16 KB), and matching stays bounded by it.
 */
export const MAX_MATCHED_URL_CHARS = 16 * 1024;

const TOKEN = /\*|:[A-Za-z]\w*|[^*:]+|:/g;

/**
 * Compiles a pattern; undefined when it cannot be (two splats, or one placeholder name twice).
 * @example
 * matchUrlPattern(compileUrlPattern("/blog/:slug")!, new URL("https://x.dev/blog/hello")); // { slug: "hello" }
 */
export function compileUrlPattern(source: string): UrlPattern | undefined {
  const crossHost = source.startsWith("https://");
  const pathStart = crossHost ? indexOrEnd(source, "/", "https://".length) : 0;
  const tokens: Token[] = [];
  const names = new Set<string>();
  for (const match of source.matchAll(TOKEN)) {
    const token = match[0];
    if (token === "*") {
      if (names.has("splat")) return undefined;
      names.add("splat");
      tokens.push({ kind: "splat" });
    } else if (token.length > 1 && token.startsWith(":")) {
      const name = token.slice(1);
      if (names.has(name)) return undefined;
      names.add(name);
      tokens.push({ kind: "placeholder", name, inHost: match.index < pathStart });
    } else {
      const last = tokens.at(-1);
      if (last?.kind === "literal") tokens[tokens.length - 1] = { kind: "literal", text: last.text + token };
      else tokens.push({ kind: "literal", text: token });
    }
  }
  return { source, crossHost, tokens };
}

/**
 * The captured values when `url` matches, else undefined. The captures are the ones a backtracking
 * regular expression gives (each placeholder and the splat as long as the rest allows, the earlier
 * first), found in time linear in the URL's length times the pattern's pieces: two placeholders in one
 * segment (`/:year-:month`) made such an expression backtrack for seconds on one long URL, on the
 * event loop every request shares.
 */
export function matchUrlPattern(pattern: UrlPattern, url: URL): Record<string, string> | undefined {
  const subject = pattern.crossHost ? `https://${url.hostname}${url.pathname}` : url.pathname;
  if (subject.length > MAX_MATCHED_URL_CHARS) return undefined;
  const { tokens } = pattern;
  // Most patterns start (and many end) with literal text: a URL without it is refused before any table is made.
  const first = tokens[0];
  const last = tokens.at(-1);
  if (first?.kind === "literal" && !subject.startsWith(first.text)) return undefined;
  if (last?.kind === "literal" && !subject.endsWith(last.text)) return undefined;
  const splatOnly = splatBetweenLiterals(tokens, subject);
  if (splatOnly !== null) return splatOnly;
  const n = subject.length;
  const width = n + 1;
  // fits[t * width + i]: tokens t… match subject[i…] to its end.
  const fits = new Uint8Array((tokens.length + 1) * width);
  fits[tokens.length * width + n] = 1;
  for (let t = tokens.length - 1; t >= 0; t--) {
    const token = tokens[t]!;
    const here = t * width;
    const next = here + width;
    if (token.kind === "literal") {
      for (let i = 0; i + token.text.length <= n; i++) if (fits[next + i + token.text.length] === 1 && subject.startsWith(token.text, i)) fits[here + i] = 1;
    } else if (token.kind === "splat") {
      let any = 0;
      for (let i = n; i >= 0; i--) fits[here + i] = any |= fits[next + i]!;
    } else {
      // [i+1, end of the run of allowed characters from i]: some j there where the rest fits.
      let nearestFit = -1;
      let runEnd = n;
      for (let i = n; i >= 0; i--) {
        if (i < n && !allowed(subject.charCodeAt(i), token.inHost)) runEnd = i;
        if (i + 1 <= n && fits[next + i + 1] === 1) nearestFit = i + 1;
        if (nearestFit !== -1 && nearestFit <= runEnd && i < runEnd) fits[here + i] = 1;
      }
    }
  }
  if (fits[0] !== 1) return undefined;
  const values: Record<string, string> = {};
  let at = 0;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    const next = (t + 1) * width;
    if (token.kind === "literal") {
      at += token.text.length;
      continue;
    }
    let end = token.kind === "splat" ? n : runEndFrom(subject, at, token.inHost);
    while (fits[next + end] !== 1) end--;
    values[token.kind === "splat" ? "splat" : token.name] = subject.slice(at, end);
    at = end;
  }
  return values;
}

/**
 * The common shapes answered without a table (`/docs/*`, `/*.html`, an exact path), their literal
 * start and end already checked: the captures, undefined for no match, or null for another shape.
 */
function splatBetweenLiterals(tokens: readonly Token[], subject: string): Record<string, string> | undefined | null {
  const literal = (token: Token | undefined): number | undefined => (token === undefined ? 0 : token.kind === "literal" ? token.text.length : undefined);
  if (tokens.length <= 1 && tokens[0]?.kind !== "splat" && tokens[0]?.kind !== "placeholder") {
    return subject === (tokens[0]?.kind === "literal" ? tokens[0].text : "") ? {} : undefined;
  }
  const at = tokens.findIndex((token) => token.kind === "splat");
  if (at === -1 || at > 1 || tokens.length > at + 2) return null;
  const head = at === 0 ? 0 : literal(tokens[0]);
  const tail = literal(tokens[at + 1]);
  if (head === undefined || tail === undefined) return null;
  return subject.length < head + tail ? undefined : { splat: subject.slice(head, subject.length - tail) };
}

/** Whether a placeholder takes this character: not `/`, and in a host label not `.` either. */
function allowed(code: number, inHost: boolean): boolean {
  return code !== 0x2f && !(inHost && code === 0x2e);
}

function runEndFrom(subject: string, from: number, inHost: boolean): number {
  let end = from;
  while (end < subject.length && allowed(subject.charCodeAt(end), inHost)) end++;
  return end;
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
