/**
 * `_headers` at the root of the assets directory: blocks of a URL pattern followed by indented
 * `Name: value` lines (or `! Name` to remove a header), applied to every response the assets give.
 * Invalid lines are skipped with a warning, as Cloudflare does.
 * @module
 */
import { ASSET_LIMITS } from "./limits.ts";
import { compileUrlPattern, fillPlaceholders, matchUrlPattern, type UrlPattern } from "./url-rules.ts";

export const HEADERS_FILE_NAME = "_headers";

/**
 * What `Headers` accepts, checked when the file is read: a name or value it refuses would throw on
 * every response the block matches. Names are HTTP tokens; values are Latin-1 without NUL, CR or
 * LF (filled-in placeholders come from the URL, which is ASCII).
 */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\0\r\n\u0100-\uffff]+$/;

interface HeaderRule {
  readonly pattern: UrlPattern;
  /** Where the block starts (`_headers:7`). */
  readonly at: string;
  /** Lower-case names; a name given twice in one block has its values joined with ", ". */
  readonly set: Map<string, string>;
  readonly unset: string[];
}

/** The rules of a `_headers` file. */
export class HeaderRules {
  readonly #rules: HeaderRule[] = [];
  /** Lines skipped, each with its reason and line number. */
  readonly warnings: string[] = [];

  /**
   * Parses the file's text (at most 100 blocks).
   * @example
   * HeaderRules.parse("/assets/*\n  Cache-Control: public, max-age=31536000, immutable");
   */
  static parse(text: string): HeaderRules {
    const rules = new HeaderRules();
    rules.#read(text);
    // A block without headers is only known at its end: keep the warnings in line order.
    const lineOf = (warning: string) => Number(/:(\d+):/.exec(warning)?.[1] ?? 0);
    rules.warnings.sort((a, b) => lineOf(a) - lineOf(b));
    return rules;
  }

  get size(): number {
    return this.#rules.length;
  }

  /**
   * Applies every block whose pattern matches `url`, in file order: `! Name` removes a header;
   * the first block to set a header replaces the response's value, later blocks add to it. A path
   * given to two blocks has only the later one, in the earlier one's place.
   */
  apply(url: URL, headers: Headers): void {
    const setHere = new Set<string>();
    for (const rule of this.#rules) {
      const values = matchUrlPattern(rule.pattern, url);
      if (values === undefined) continue;
      for (const name of rule.unset) headers.delete(name);
      for (const [name, template] of rule.set) {
        const value = fillPlaceholders(template, values);
        if (setHere.has(name)) headers.append(name, value);
        else {
          headers.set(name, value);
          setHere.add(name);
        }
      }
    }
  }

  #read(text: string): void {
    const { maxHeaderRules, maxRuleFileLineLength } = ASSET_LIMITS;
    const lines = text.split("\n");
    let current: HeaderRule | undefined;
    // Blocks kept, a path's repeats included: each counts toward the limit, as on Cloudflare.
    let kept = 0;
    const finish = (): void => {
      if (current === undefined) return;
      if (current.set.size === 0 && current.unset.length === 0) this.warnings.push(`${current.at}: skipped, no headers under ${current.pattern.source}`);
      else {
        this.#keep(current);
        kept++;
      }
      current = undefined;
    };
    for (let index = 0; index < lines.length; index++) {
      const at = `${HEADERS_FILE_NAME}:${index + 1}`;
      const line = lines[index]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      if (line.length > maxRuleFileLineLength) {
        this.warnings.push(`${at}: skipped, longer than ${maxRuleFileLineLength} characters`);
        continue;
      }
      if (/^(\S+:\/\/|\/)/.test(line)) {
        finish();
        if (kept >= maxHeaderRules) {
          this.warnings.push(`${at}: this and the following lines skipped, at most ${maxHeaderRules} rules`);
          return;
        }
        const pattern = patternOf(line);
        if (typeof pattern === "string") this.warnings.push(`${at}: skipped, ${pattern}`);
        else current = { pattern, set: new Map(), unset: [], at };
        continue;
      }
      if (current === undefined) {
        this.warnings.push(`${at}: skipped, a header line must follow a path line`);
        continue;
      }
      if (line.startsWith("! ")) {
        const name = line.slice(2).trim();
        if (!HEADER_NAME.test(name)) this.warnings.push(`${at}: skipped, "${name}" is not a header name`);
        else current.unset.push(name);
        continue;
      }
      const colon = line.indexOf(":");
      if (colon === -1) {
        this.warnings.push(`${at}: skipped, expected "Name: value"`);
        continue;
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (!HEADER_NAME.test(name)) {
        this.warnings.push(`${at}: skipped, "${name}" is not a header name`);
        continue;
      }
      if (value === "") {
        this.warnings.push(`${at}: skipped, no value for ${name}`);
        continue;
      }
      if (!HEADER_VALUE.test(value)) {
        this.warnings.push(`${at}: skipped, the value of ${name} holds NUL, CR, LF or a character above U+00FF`);
        continue;
      }
      const before = current.set.get(name);
      current.set.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    finish();
  }

  /**
   * Adds a block, or puts it in the place of an earlier block for the same path: Cloudflare keeps
   * one block per path (the rules are keyed by it), the last one given, where the first one stood.
   */
  #keep(rule: HeaderRule): void {
    const earlier = this.#rules.findIndex((other) => other.pattern.source === rule.pattern.source);
    if (earlier === -1) {
      this.#rules.push(rule);
      return;
    }
    this.warnings.push(`${rule.at}: replaces the block for ${rule.pattern.source} at ${this.#rules[earlier]!.at}; only the last block for a path applies`);
    this.#rules[earlier] = rule;
  }
}

/** The compiled pattern of a path line, or why it is refused. */
function patternOf(line: string): UrlPattern | string {
  let source: string;
  const absolute = /^https:\/\/+([^/]+)(.*)$/.exec(line);
  if (absolute) {
    if (/:\d+$/.test(absolute[1]!)) return `a port is not allowed in ${line}`;
    source = `https://${absolute[1]}${new URL(`https://placeholder/${(absolute[2] ?? "").replace(/^\/+/, "")}`).pathname}`;
  } else if (line.startsWith("/")) {
    source = new URL(`https://placeholder${line}`).pathname;
  } else {
    return `a path must start with "/" or "https://", got ${line}`;
  }
  return compileUrlPattern(source) ?? `${line} repeats a splat or placeholder`;
}
