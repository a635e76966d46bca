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
   * secret, secretKey, AWS_SECRET_ACCESS_KEY, signingKey …) and values shaped like credentials (`Bearer …`,
   * `Basic <user:password in base64>`, `sk-…`, `sk_live_…`, `ghp_…`, `github_pat_…`, `xoxb-…`, JWTs, the
   * password of a `scheme://user:password@host` URL). Default true.
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

/**
 * Key names whose values are always secret (compared without case, `-` and `_`): exact names, and names
 * ending in a secret's word (`openai_api_key`, `AWS_SECRET_ACCESS_KEY`, `secretKey`, `webhookSigningKey`).
 */
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|xapikey|password|passwd|pwd|secret|token|accesstoken|refreshtoken|idtoken|clientsecret|apikey|privatekey|credentials?|sessionid)$|(apikey|secret|password|passwd|token|credential|(secret|private|signing|access|encryption)key)$/;

/** Whether a key is a well-known secret's name (authorization, cookie, password, apiKey, x-api-key …). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ""));
}

/**
 * Credentials recognisable by their shape, replaced inside any string. The auth scheme is matched in
 * any case (HTTP's scheme names are case-insensitive: `authorization: bearer …`), but spelt otherwise
 * than `Bearer` it needs 8 token characters, so prose ("the bearer of") is left alone. GitHub tokens:
 * classic (`ghp_` …) and fine-grained (`github_pat_`); Stripe secret and restricted keys (`sk_live_`,
 * `rk_test_` …) and webhook secrets (`whsec_`); Slack tokens (`xoxb-` …, `xapp-`).
 *
 * Two alternatives are named groups the replacer looks at: `basic` is `Basic <base64>`, censored only
 * when the base64 decodes to text with a colon (`user:password`), so "Basic information" stays; `url`
 * is a URL's `scheme://user:` before a password, which alone is censored (`postgres://app:[Redacted]@db`).
 * Lengths are bounded so a long string without a match costs linear time.
 */
const SECRET_VALUE = new RegExp(
  [
    String.raw`\bBearer\s+[A-Za-z0-9\-._~+/]+=*`,
    String.raw`\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+[A-Za-z0-9\-._~+/]{8,}=*`,
    String.raw`\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}`,
    String.raw`\bgh[pousr]_[A-Za-z0-9]{20,}`,
    String.raw`\bgithub_pat_[A-Za-z0-9_]{20,}`,
    String.raw`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`,
    String.raw`\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}`,
    String.raw`\bwhsec_[A-Za-z0-9+/=]{16,}`,
    String.raw`\bxox[abeoprs]-[A-Za-z0-9-]{10,}`,
    String.raw`\bxapp-[A-Za-z0-9-]{10,}`,
    String.raw`\b[Bb][Aa][Ss][Ii][Cc]\s+(?<basic>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])`,
    String.raw`(?<url>\b[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s:/?#@]{0,256}:)[^\s/?#]{1,1024}(?=@)`,
  ].join("|"),
  "g",
);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether base64 `token` decodes to HTTP Basic credentials: UTF-8 text without control characters, with a colon. */
function basicCredentials(token: string): boolean {
  if (token.length % 4 === 1) return false; // never base64 (and atob's exception is slow)
  let binary: string;
  try {
    binary = atob(token);
  } catch {
    return false;
  }
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex
  return text.includes(":") && !/[\u0000-\u001f\u007f]/.test(text);
}

/** Replaces every credential-shaped value in `text` with `censor` (a URL keeps all but its password). */
function scrubValues(text: string, censor: string): string {
  return text.replace(SECRET_VALUE, (match: string, ...args: unknown[]) => {
    const groups = args.at(-1) as { basic?: string; url?: string };
    if (groups.url !== undefined) return groups.url + censor;
    if (groups.basic !== undefined) return basicCredentials(groups.basic) ? censor : match;
    return censor;
  });
}

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
      if (defaults) out = scrubValues(out, censor);
      return out;
    },
  };
}
