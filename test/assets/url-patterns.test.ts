/**
 * `_redirects` / `_headers` patterns and `run_worker_first` globs are matched without a backtracking
 * regular expression: the same captures as one, in time linear in the URL (two placeholders in one
 * segment made such an expression run for minutes on one long path, on the event loop every request
 * shares).
 */
import { describe, expect, it } from "vitest";
import { compileUrlPattern, matchUrlPattern, MAX_MATCHED_URL_CHARS } from "../../src/assets/url-rules.ts";
import { parseRunWorkerFirst } from "../../src/assets/worker-first.ts";

/** What a backtracking regular expression captures: the semantics the matcher keeps. */
function byRegExp(source: string, subject: string): Record<string, string> | undefined {
  const crossHost = source.startsWith("https://");
  const pathStart = crossHost ? (source.indexOf("/", "https://".length) + 1 || source.length + 1) - 1 : 0;
  let out = "";
  for (const match of source.matchAll(/\*|:[A-Za-z]\w*|[^*:]+|:/g)) {
    const token = match[0];
    if (token === "*") out += "(?<splat>.*)";
    else if (token.length > 1 && token.startsWith(":")) out += `(?<${token.slice(1)}>${match.index < pathStart ? "[^/.]+" : "[^/]+"})`;
    else out += token.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&");
  }
  const found = new RegExp(`^${out}$`).exec(subject);
  return found === null ? undefined : { ...found.groups };
}

/** A small random generator, seeded: the same cases every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

describe("URL patterns", () => {
  it("capture what a backtracking regular expression captures, over thousands of generated patterns and paths", () => {
    const next = random(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const pieces = ["/", "-", ".", "a", "b", "ab", ":x", ":y", ":z", "*"];
    const chars = ["/", "-", ".", "a", "b"];
    let compared = 0;
    let matched = 0;
    for (let p = 0; p < 3_000; p++) {
      const source = "/" + Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(pieces)).join("");
      const pattern = compileUrlPattern(source);
      if (pattern === undefined) continue; // a name twice, or two splats
      for (let s = 0; s < 12; s++) {
        const url = new URL(`https://h.dev/${Array.from({ length: Math.floor(next() * 9) }, () => pick(chars)).join("")}`);
        const path = url.pathname;
        const expected = byRegExp(source, path);
        expect(matchUrlPattern(pattern, url), `${source} on ${path}`).toEqual(expected);
        compared++;
        if (expected) matched++;
      }
    }
    expect(compared).toBeGreaterThan(20_000);
    expect(matched).toBeGreaterThan(1_000);
  });

  it("capture host labels of a cross-host pattern as the expression did", () => {
    for (const [source, url] of [
      ["https://:sub.example.com/*", "https://docs.example.com/a/b"],
      ["https://:a-:b.example.com/:p", "https://x-y-z.example.com/q"],
      ["https://example.com/:p", "https://other.com/q"],
    ] as const) {
      const parsed = new URL(url);
      expect(matchUrlPattern(compileUrlPattern(source)!, parsed), source).toEqual(byRegExp(source, `https://${parsed.hostname}${parsed.pathname}`));
    }
  });

  it("answer at once for a long path that does not match a pattern with placeholders sharing a segment", () => {
    // As a regular expression, this took minutes (about n^3 steps): the test would time out.
    // The last segment is empty: nothing can match, and an expression tries every split first.
    const path = `/${"1-".repeat(4_000)}x/`;
    for (const source of ["/:year-:month-:day/:slug", "/docs/:a.:b.:c", "/:a-:b-:c-:d"]) {
      expect(matchUrlPattern(compileUrlPattern(source)!, new URL(`https://h.dev${path}`)), source).toBeUndefined();
    }
    expect(matchUrlPattern(compileUrlPattern("/:a-:b")!, new URL(`https://h.dev/${"1-".repeat(4_000)}x`))).toEqual({ a: "1-".repeat(3_999) + "1", b: "x" });
  }, 60_000);

  it("match no URL longer than Cloudflare lets through to a Worker", () => {
    const pattern = compileUrlPattern("/*")!;
    expect(matchUrlPattern(pattern, new URL(`https://h.dev/${"a".repeat(MAX_MATCHED_URL_CHARS - 1)}`))).toEqual({ splat: "a".repeat(MAX_MATCHED_URL_CHARS - 1) });
    expect(matchUrlPattern(pattern, new URL(`https://h.dev/${"a".repeat(MAX_MATCHED_URL_CHARS)}`))).toBeUndefined();
  });
});

describe("run_worker_first globs", () => {
  it("match as Cloudflare's globs do, and answer at once for a long path against a rule with many stars", () => {
    const rules = parseRunWorkerFirst(["/api/*/v*/x*", "!/api/*/v1/x/docs"]);
    expect(rules.decide("/api/a/v2/xy")).toBe("worker");
    expect(rules.decide("/api/a/v1/x/docs")).toBe("assets");
    expect(rules.decide("/api/a/v2/y")).toBe("either");
    expect(rules.decide("/apix")).toBe("either");
    const many = parseRunWorkerFirst(["/*a*a*a*a*a*b"]);
    // As a regular expression: about n^5 steps.
    expect(many.decide(`/${"a".repeat(20_000)}`)).toBe("either");
    expect(many.decide(`/${"a".repeat(20_000)}b`)).toBe("worker");
  }, 60_000);
});
