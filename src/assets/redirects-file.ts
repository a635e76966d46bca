/**
 * `_redirects` at the root of the assets directory: `<from> <to> [status]` lines applied before
 * any asset is looked up. Invalid lines are skipped with a warning, as Cloudflare does.
 * @module
 */
import type { HtmlHandling } from "../config/types.ts";
import { ASSET_LIMITS } from "./limits.ts";
import { compileUrlPattern, fillPlaceholders, isDynamicPattern, matchUrlPattern, type UrlPattern } from "./url-rules.ts";

export const REDIRECTS_FILE_NAME = "_redirects";

const STATUSES = new Set([200, 301, 302, 303, 307, 308]);

interface RedirectRule {
  readonly to: string;
  /** 200 serves `to`'s asset at the requested URL (a rewrite); the others answer with a redirect. */
  readonly status: number;
}

/** What a request matches in `_redirects`. */
export type RedirectMatch = { rewriteTo: string } | { status: number; location: string } | undefined;

/** The rules of a `_redirects` file. */
export class RedirectRules {
  readonly #static = new Map<string, RedirectRule>();
  readonly #dynamic: Array<RedirectRule & { pattern: UrlPattern }> = [];
  /** Lines skipped, each with its reason and line number. */
  readonly warnings: string[] = [];

  /**
   * Parses the file's text. Rules without a splat or placeholder that come before the first one
   * with are looked up by exact path (at most 2,000); the rest are tried in order (at most 100).
   * @example
   * RedirectRules.parse("/old /new 301\n/blog/* /posts/:splat", "auto-trailing-slash");
   */
  static parse(text: string, htmlHandling: HtmlHandling): RedirectRules {
    const rules = new RedirectRules();
    rules.#read(text, htmlHandling);
    return rules;
  }

  get size(): number {
    return this.#static.size + this.#dynamic.length;
  }

  /** The first rule `url` matches: a rewrite (status 200) or a redirect with its Location. */
  match(url: URL): RedirectMatch {
    let rule: RedirectRule | undefined = this.#static.get(url.pathname);
    let to = rule?.to;
    if (rule === undefined) {
      for (const candidate of this.#dynamic) {
        const values = matchUrlPattern(candidate.pattern, url);
        if (values === undefined) continue;
        rule = candidate;
        const filled = fillPlaceholders(candidate.to, values).trim();
        to = /^\w+:\/\//.test(filled) ? filled : filled.replace(/\/{2,}/g, "/");
        break;
      }
    }
    if (rule === undefined || to === undefined) return undefined;
    if (rule.status === 200) return { rewriteTo: new URL(to, url).pathname };
    return { status: rule.status, location: locationOf(new URL(to, url), url) };
  }

  #read(text: string, htmlHandling: HtmlHandling): void {
    const { maxStaticRedirects, maxDynamicRedirects, maxRuleFileLineLength } = ASSET_LIMITS;
    const lines = text.split("\n");
    const seen = new Set<string>();
    let staticOpen = true;
    for (let index = 0; index < lines.length; index++) {
      const at = `${REDIRECTS_FILE_NAME}:${index + 1}`;
      const line = lines[index]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      if (line.length > maxRuleFileLineLength) {
        this.warnings.push(`${at}: skipped, longer than ${maxRuleFileLineLength} characters`);
        continue;
      }
      let tokens = line.split(/\s+/);
      const comment = tokens.findIndex((token, i) => i >= 2 && token.startsWith("#"));
      if (comment !== -1) tokens = tokens.slice(0, comment);
      if (tokens.length < 2 || tokens.length > 3) {
        this.warnings.push(`${at}: skipped, expected "<from> <to> [status]", got ${tokens.length} words`);
        continue;
      }
      const [rawFrom, rawTo, rawStatus = "302"] = tokens as [string, string, string?];
      if (/^https?:\/\//.test(rawFrom)) {
        this.warnings.push(`${at}: skipped, the source must be a path, not ${rawFrom}`);
        continue;
      }
      const from = new URL(`https://placeholder${rawFrom.startsWith("/") ? "" : "/"}${rawFrom}`).pathname;
      const dynamic = !staticOpen || isDynamicPattern(from);
      if (dynamic) {
        staticOpen = false;
        if (this.#dynamic.length >= maxDynamicRedirects) {
          this.warnings.push(`${at}: this and the following lines skipped, at most ${maxDynamicRedirects} rules with a splat or placeholder`);
          break;
        }
      } else if (this.#static.size >= maxStaticRedirects) {
        this.warnings.push(`${at}: skipped, at most ${maxStaticRedirects} rules without a splat or placeholder`);
        continue;
      }
      const to = targetOf(rawTo);
      if (to === undefined) {
        this.warnings.push(`${at}: skipped, the target must start with "/" or "https://", got ${rawTo}`);
        continue;
      }
      const status = Number(rawStatus);
      if (!STATUSES.has(status)) {
        this.warnings.push(`${at}: skipped, the status must be 200, 301, 302 (the default), 303, 307 or 308, got ${rawStatus}`);
        continue;
      }
      const relative = to.startsWith("/");
      const loopsToIndex = /\/\*$/.test(from) && /\/index(\.html)?$/.test(to);
      const rootToIndex = from.endsWith("/") && /\/index(\.html)?$/.test(to) && htmlHandling !== "none";
      if (relative && (loopsToIndex || rootToIndex)) {
        this.warnings.push(`${at}: skipped, it loops: serving ${to} redirects to a path without "index" or ".html", which this rule catches again`);
        continue;
      }
      if (seen.has(from)) {
        this.warnings.push(`${at}: skipped, a second rule for ${from}`);
        continue;
      }
      seen.add(from);
      if (status === 200 && !relative) {
        this.warnings.push(`${at}: skipped, a rewrite (200) must point to a path, got ${to}`);
        continue;
      }
      if (!dynamic) {
        this.#static.set(from, { to, status });
        continue;
      }
      const pattern = compileUrlPattern(from);
      if (pattern === undefined) this.warnings.push(`${at}: skipped, ${from} repeats a splat or placeholder`);
      else this.#dynamic.push({ to, status, pattern });
    }
  }
}

/** A target as written, normalised: a path (with query and fragment) or an https URL; undefined when neither. */
function targetOf(raw: string): string | undefined {
  if (/^https:\/\/[^/]+/.test(raw)) return raw;
  if (!raw.startsWith("/")) return undefined;
  const url = new URL(`https://placeholder${raw}`);
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Location of a redirect: a same-origin target as a path; the request's query kept when the target has none. */
function locationOf(target: URL, request: URL): string {
  const search = target.search || request.search;
  if (target.origin === request.origin) return `${target.pathname}${search}${target.hash}`;
  return `${target.origin}${target.pathname}${search}${target.hash}`;
}
