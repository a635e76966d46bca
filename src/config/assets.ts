import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { KeyPath } from "./key-path.ts";
import { asTable, bindingName, type CheckContext, describeValue, fail, optionalString, warnUnknownKeys } from "./read.ts";
import type { AssetsConfig, HtmlHandling, NotFoundHandling } from "./types.ts";

export const HTML_HANDLING: readonly HtmlHandling[] = ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"];
export const NOT_FOUND_HANDLING: readonly NotFoundHandling[] = ["single-page-application", "404-page", "none"];

/**
 * `assets`: the directory (required, relative to the config file), an optional `env` binding, and
 * the serving options with Cloudflare's defaults (auto-trailing-slash, none, false). A directory
 * that does not exist yet gets a warning: a build may create it.
 */
export function readAssets(ctx: CheckContext, value: unknown, at: KeyPath): AssetsConfig {
  const table = asTable(ctx, value, at);
  warnUnknownKeys(ctx, table, ["directory", "binding", "html_handling", "not_found_handling", "run_worker_first"], at);
  const directory = optionalString(ctx, table, "directory", at);
  if (directory === undefined) fail(ctx, [...at, "directory"], `is required: the folder of static files to serve${viteHint(ctx.dir)}`);
  const absolute = resolve(ctx.dir, directory);
  if (!existsSync(absolute)) {
    ctx.warnings.push(
      `${ctx.source.fileName}: assets.directory "${directory}" does not exist (yet): no static files are served until it does ` +
        `and the server restarts (hearth dev restarts by itself when a build writes .js files into it)`,
    );
  }
  const config: AssetsConfig = {
    directory: absolute,
    htmlHandling: oneOf(ctx, table.html_handling, [...at, "html_handling"], HTML_HANDLING) ?? "auto-trailing-slash",
    notFoundHandling: oneOf(ctx, table.not_found_handling, [...at, "not_found_handling"], NOT_FOUND_HANDLING) ?? "none",
    runWorkerFirst: runWorkerFirst(ctx, table.run_worker_first, [...at, "run_worker_first"]),
  };
  if (table.binding !== undefined) config.binding = bindingName(ctx, table, "binding", at);
  return config;
}

/** Vite's config file names: a project with one is usually built with `@cloudflare/vite-plugin`. */
const VITE_CONFIGS = ["vite.config.ts", "vite.config.mts", "vite.config.js", "vite.config.mjs", "vite.config.cjs", "vite.config.cts"];

/**
 * What to do in a `@cloudflare/vite-plugin` project, whose `assets` block has no `directory`: the
 * plugin writes it into the config it generates at build time, which Hearth does not read.
 */
function viteHint(dir: string): string {
  if (!VITE_CONFIGS.some((name) => existsSync(join(dir, name)))) return "";
  return (
    `. With @cloudflare/vite-plugin the plugin fills it in at build time; on Hearth, run \`vite build\` and set ` +
    `"directory": "./dist/client" (the plugin's client output; <build.outDir>/client when vite.config sets build.outDir)`
  );
}

function oneOf<T extends string>(ctx: CheckContext, value: unknown, path: KeyPath, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    fail(ctx, path, `must be one of ${choices.map((choice) => `"${choice}"`).join(", ")} (got ${describeValue(value)})`);
  }
  return value as T;
}

/** true / false, or route patterns that start with `/` (or `!/` to exclude). */
function runWorkerFirst(ctx: CheckContext, value: unknown, path: KeyPath): boolean | string[] {
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  if (!Array.isArray(value)) fail(ctx, path, `must be true, false or an array of route patterns (got ${describeValue(value)})`);
  return value.map((pattern: unknown, index) => {
    if (typeof pattern !== "string" || !(pattern.startsWith("/") || pattern.startsWith("!/"))) {
      fail(ctx, [...path, index], `must be a route pattern starting with "/" or "!/" (got ${describeValue(pattern)})`);
    }
    return pattern;
  });
}
