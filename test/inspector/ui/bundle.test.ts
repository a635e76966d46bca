/**
 * The built inspector UI: the first load stays within its JavaScript budget, heavy views are
 * separate chunks, and nothing in the output needs more than `Content-Security-Policy: default-src 'self'`.
 */
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { firstLoadBytes, firstLoadScripts, sharedUi } from "./build-ui.ts";

/** The benchmark: inspector first load ≤ 200 KB of JavaScript. */
const FIRST_LOAD_BUDGET = 200 * 1024;

describe("inspector UI build", () => {
  let out = "";
  beforeAll(async () => {
    out = await sharedUi();
  }, 120_000);

  test(`the first load fetches at most ${FIRST_LOAD_BUDGET / 1024} KB of JavaScript`, () => {
    const bytes = firstLoadBytes(out);
    console.log(`[inspector UI] first load: ${(bytes / 1024).toFixed(1)} KB of JavaScript in ${firstLoadScripts(out).length} file(s)`);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
  });

  test("charts (uPlot) are a lazy chunk, not part of the first load", () => {
    const first = firstLoadScripts(out).map((file) => fs.readFileSync(file, "utf8"));
    expect(first.some((code) => code.includes("uPlot"))).toBe(false);
    const all = fs.readdirSync(path.join(out, "assets")).filter((f) => f.endsWith(".js"));
    expect(all.length).toBeGreaterThan(1);
  });

  test("index.html has no inline scripts or styles and loads nothing from another origin", () => {
    const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
    for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(match[1]).toMatch(/\bsrc="\.\/assets\//);
      expect(match[2]?.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toMatch(/data:/);
  });

  test("the bundles never evaluate strings as code (CSP has no 'unsafe-eval')", () => {
    for (const file of fs.readdirSync(path.join(out, "assets")).filter((f) => f.endsWith(".js"))) {
      const code = fs.readFileSync(path.join(out, "assets", file), "utf8");
      expect(code, file).not.toMatch(/\bnew Function\(|\beval\(/);
      expect(code, file).not.toMatch(/https?:\/\/(?!www\.w3\.org)[\w.-]+\.(?:com|net|org|io)\//);
    }
  });
});
