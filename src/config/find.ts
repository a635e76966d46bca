import { statSync } from "node:fs";
import { join } from "node:path";

/** The config file names wrangler looks for, in its order: the first that exists wins. */
export const WRANGLER_CONFIG_FILES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"] as const;

/**
 * Every wrangler config file in `dir`, in wrangler's order (usually zero or one).
 *
 * @example
 * wranglerConfigsIn("/srv/app"); // ["/srv/app/wrangler.jsonc"]
 */
export function wranglerConfigsIn(dir: string): string[] {
  return WRANGLER_CONFIG_FILES.map((name) => join(dir, name)).filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile() === true);
}

/**
 * The wrangler config file of the project in `dir`: `wrangler.json`, else `wrangler.jsonc`, else
 * `wrangler.toml` (wrangler's order). Only `dir` itself is searched, not its parents.
 * {@link loadProjectConfig} warns when several exist.
 *
 * @example
 * const path = findWranglerConfig(process.cwd());
 * if (path !== undefined) console.log(`reading ${path}`);
 */
export function findWranglerConfig(dir: string): string | undefined {
  return wranglerConfigsIn(dir)[0];
}
