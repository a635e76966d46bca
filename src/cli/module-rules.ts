/**
 * wrangler's module rules applied to imports: the hooks that load a matching import as text, bytes
 * or compiled WebAssembly (config/module-rules.ts decides which rules apply).
 * @module
 */
import * as nodeModule from "node:module";
import type { ModuleRulesPlan } from "../config/module-rules.ts";
import { initialize, load, resolve, type ModuleRulesData } from "./module-rules-hooks.ts";

/**
 * A rule's glob as a regular expression over an import specifier, as wrangler's bundler reads it
 * (glob-to-regexp's defaults): `*` is any run of characters, `/` included, so `**\/*.html` matches
 * `./page.html` and `../views/page.html`; everything else, `?` included, is itself.
 */
export function globPattern(glob: string): string {
  const parts = [...glob].map((char) => (char === "*" ? ".*" : char.replace(/[\\^$.+?()[\]{}|/]/g, "\\$&")));
  return `^${parts.join("")}$`;
}

/**
 * The extensions the globs end with (`.html` for `**\/*.html`, `.wasm` for `**\/*.wasm?module`): a
 * change to such a file restarts `hearth dev`, as wrangler watches the files its rules load.
 */
export function ruleExtensions(plan: ModuleRulesPlan): string[] {
  const extensions = new Set<string>();
  for (const rule of plan.rules) {
    for (const glob of rule.globs) {
      const extension = /(\.[A-Za-z0-9_-]+)(?:\?[^/*]*)?$/.exec(glob)?.[1];
      if (extension !== undefined) extensions.add(extension.toLowerCase());
    }
  }
  return [...extensions];
}

let registered: "in-thread" | "loader-thread" | undefined;

/**
 * Makes imports follow `plan` from now on in this thread. The first call registers the hooks (after
 * the loader's others, so the rules see each specifier as written); later ones replace the rules.
 * Where Node lacks `module.registerHooks`, the hooks run on the loader thread with the first plan.
 */
export function useModuleRules(plan: ModuleRulesPlan): void {
  const data: ModuleRulesData = {
    // As in wrangler's bundler, ESModule and CommonJS rules do not change how an import loads
    // (JavaScript loads by Node's rules, as esbuild bundles it whatever the rules say); left out, they still fail.
    rules: plan.rules.filter((rule) => rule.type !== "ESModule" && rule.type !== "CommonJS").map((rule) => ({ type: rule.type, patterns: rule.globs.map(globPattern) })),
    ignored: plan.ignored.map(({ rule, why }) => ({ why, patterns: rule.globs.map(globPattern) })),
  };
  if (registered === "loader-thread") return;
  const { registerHooks } = nodeModule as { registerHooks?: (hooks: object) => unknown };
  if (typeof registerHooks === "function") {
    initialize(data);
    if (registered === undefined) registerHooks({ resolve, load });
    registered = "in-thread";
    return;
  }
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  nodeModule.register(new URL(`./module-rules-hooks${extension}`, import.meta.url).href, { data });
  registered = "loader-thread";
}
