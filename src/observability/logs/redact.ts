/** What is replaced, and with what, before a record is written. */
export interface RedactOptions {
  /**
   * pino-style paths into the record: `a.b`, `a[*].b`, `*.password`, `headers["x-api-key"]`, `env.*`.
   * A `*` stands for any one key or array index. Paths come from configuration, never from user input.
   */
  paths?: readonly string[];
  /** The replacement value. Default `"[Redacted]"` (pino's). */
  censor?: string;
  /**
   * Also redact well-known secret keys at any depth (authorization, cookie, password, token, apiKey,
   * secret …) and values shaped like credentials (`Bearer …`, `sk-…`, `ghp_…`, `github_pat_…`, JWTs). Default true.
   */
  defaults?: boolean;
  /** Exact secret values (say, the host's secrets) scrubbed wherever they appear inside a string. */
  secrets?: readonly string[];
}

/** A compiled path: keys, with `WILDCARD` for `*`. */
export type PathSegment = string | typeof WILDCARD;
export const WILDCARD: unique symbol = Symbol("*");

/** The longest path accepted, in segments; longer ones are refused with this limit in the message. */
export const MAX_PATH_SEGMENTS = 32;

/**
 * Parses a pino redact path into segments.
 * @example parseRedactPath('req.headers["x-api-key"]') // ["req", "headers", "x-api-key"]
 */
export function parseRedactPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const fail = (why: string): never => {
    throw new SyntaxError(`Invalid redact path "${path}": ${why}`);
  };
  let i = 0;
  let expectKey = true;
  while (i < path.length) {
    const char = path[i];
    if (char === "[") {
      const close = path.indexOf("]", i);
      if (close < 0) fail("unclosed [");
      const inner = path.slice(i + 1, close).trim();
      if (inner === "*") segments.push(WILDCARD);
      else if (/^\d+$/.test(inner)) segments.push(inner);
      else if (/^(["']).*\1$/.test(inner)) segments.push(inner.slice(1, -1));
      else fail(`use [*], [0] or ["key"], not [${inner}]`);
      i = close + 1;
      expectKey = false;
    } else if (char === ".") {
      if (expectKey) fail("empty key");
      i++;
      expectKey = true;
    } else {
      if (!expectKey) fail(`"." or "[" expected at ${i}`);
      let end = i;
      while (end < path.length && path[end] !== "." && path[end] !== "[") end++;
      const key = path.slice(i, end);
      segments.push(key === "*" ? WILDCARD : key);
      i = end;
      expectKey = false;
    }
  }
  if (segments.length === 0 || expectKey) fail("empty key");
  if (segments.length > MAX_PATH_SEGMENTS) fail(`more than ${MAX_PATH_SEGMENTS} segments`);
  return segments;
}

/** Key names whose values are always secret (compared without case, `-` and `_`). */
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|xapikey|password|passwd|pwd|secret|token|accesstoken|refreshtoken|idtoken|clientsecret|apikey|privatekey|credentials?|sessionid)$|(apikey|secret|password|passwd|token|credential|privatekey)$/;

/** Whether a key is a well-known secret's name (authorization, cookie, password, apiKey, x-api-key …). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ""));
}

/**
 * Credentials recognisable by their shape, replaced inside any string. The auth scheme is matched in
 * any case (HTTP's scheme names are case-insensitive: `authorization: bearer …`), but spelt otherwise
 * than `Bearer` it needs 8 token characters, so prose ("the bearer of") is left alone. GitHub tokens:
 * classic (`ghp_` …) and fine-grained (`github_pat_`).
 */
const SECRET_VALUE =
  /\bBearer\s+[A-Za-z0-9\-._~+/]+=*|\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+[A-Za-z0-9\-._~+/]{8,}=*|\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

/** The compiled form of `RedactOptions`, used by the sanitizer. */
export interface Redactor {
  readonly censor: string;
  readonly paths: readonly PathSegment[][];
  readonly defaults: boolean;
  /** Replaces credential-shaped values and known secrets inside a string. */
  scrub(text: string): string;
}

/** Compiles redaction options; bad paths throw a `SyntaxError` naming the path. */
export function compileRedactor(options: RedactOptions | readonly string[] | undefined): Redactor {
  const opts: RedactOptions = Array.isArray(options) ? { paths: options } : ((options ?? {}) as RedactOptions);
  const censor = opts.censor ?? "[Redacted]";
  const defaults = opts.defaults ?? true;
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  const secretPattern = secrets.length
    ? new RegExp(secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g")
    : undefined;
  return {
    censor,
    defaults,
    paths: (opts.paths ?? []).map(parseRedactPath),
    scrub(text) {
      let out = text;
      if (secretPattern) out = out.replace(secretPattern, censor);
      if (defaults) out = out.replace(SECRET_VALUE, censor);
      return out;
    },
  };
}
