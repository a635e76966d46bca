/**
 * Where `hearth inspect` calls and with which token, and keeping those tokens out of what it prints:
 * a message on a shared terminal or in a CI log must not hand out the inspector's credentials.
 */
import { parseSignInFragment } from "../../inspector/sign-in-link.ts";
import { UsageError, type Parsed } from "./args.ts";

export interface InspectorConnection {
  /** The inspector's URL without its `#token=…`. */
  base: URL;
  token: string;
  /** Used for changes when given; else `token`. */
  adminToken: string | undefined;
}

/** Tokens shorter than this are not looked for in messages: replacing a word that short would garble them. */
const MIN_REDACTED_LENGTH = 8;

export function connectionOf(parsed: Parsed, env: NodeJS.ProcessEnv): InspectorConnection {
  const given = flagValue(parsed, "url");
  const raw = given ?? env.HEARTH_INSPECTOR_URL;
  if (!raw) throw new UsageError("The inspector's URL is missing: pass --url or set HEARTH_INSPECTOR_URL (hearth dev prints it in its banner)");
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    const source = given === undefined ? "HEARTH_INSPECTOR_URL" : "--url";
    throw new UsageError(`${source} is not a URL: ${JSON.stringify(redactUrls(raw))} (expected the inspector's address as the banner prints it, e.g. http://127.0.0.1:8788/)`);
  }
  const fromUrl = parseSignInFragment(base.hash)?.token;
  base.hash = "";
  const token = flagValue(parsed, "token") ?? env.HEARTH_INSPECTOR_TOKEN ?? fromUrl;
  if (!token) throw new UsageError("The inspector's token is missing: pass --token or set HEARTH_INSPECTOR_TOKEN");
  return { base, token, adminToken: flagValue(parsed, "admin-token") ?? env.HEARTH_INSPECTOR_ADMIN_TOKEN };
}

/**
 * Every credential the command line and environment carry, to be kept out of messages: the tokens
 * given as options or variables and the one a URL's `#token=` holds, each also URL-encoded.
 */
export function secretsOf(parsed: Parsed | undefined, env: NodeJS.ProcessEnv): string[] {
  const given = [env.HEARTH_INSPECTOR_TOKEN, env.HEARTH_INSPECTOR_ADMIN_TOKEN, parsed && flagValue(parsed, "token"), parsed && flagValue(parsed, "admin-token")];
  for (const url of [env.HEARTH_INSPECTOR_URL, parsed && flagValue(parsed, "url")]) {
    const hash = url?.indexOf("#") ?? -1;
    if (hash >= 0) given.push(parseSignInFragment(url!.slice(hash))?.token);
  }
  const secrets = given.filter((secret): secret is string => secret !== undefined && secret.length >= MIN_REDACTED_LENGTH);
  return [...new Set([...secrets, ...secrets.map(encodeURIComponent)])].sort((a, b) => b.length - a.length);
}

/**
 * `text` with each of `secrets` replaced by `…`, and every token a URL in it carries (`#token=…`,
 * `?token=…`, a password before `@`) cut out.
 * @example redact('not a url#token=s3cret', []) // 'not a url#token=…'
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = redactUrls(text);
  for (const secret of secrets) out = out.split(secret).join("…");
  return out;
}

function redactUrls(text: string): string {
  return text.replace(/([#?&]token=)[^&\s"']+/gi, "$1…").replace(/(\/\/[^/\s:@"']+:)[^/\s@"']+@/g, "$1…@");
}

function flagValue(parsed: Parsed, name: string): string | undefined {
  const value = parsed.flags.get(name);
  return typeof value === "string" ? value : undefined;
}
