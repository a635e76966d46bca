import { basename, dirname } from "node:path";
import { resolveEnvironment } from "./environment.ts";
import { WRANGLER_CONFIG_FILES, wranglerConfigsIn } from "./find.ts";
import { readConfigFile } from "./parse.ts";
import type { CheckContext } from "./read.ts";
import type { ProjectConfig } from "./types.ts";
import { buildProjectConfig } from "./validate.ts";

/** Options of {@link loadProjectConfig}. */
export interface LoadProjectConfigOptions {
  /** The wrangler config file (`findWranglerConfig(dir)` finds it); relative to the working directory. */
  path: string;
  /** `--env`: the `env.<name>` section to use; undefined or "" for the top level. */
  envName?: string | undefined;
  /** How the environment was chosen, for messages: `--env` (the default) or `CLOUDFLARE_ENV`. */
  envFrom?: "--env" | "CLOUDFLARE_ENV" | undefined;
}

/**
 * Reads, validates and resolves a wrangler config for one environment: every field of
 * {@link ProjectConfig} filled, defaults included, paths absolute. Warnings (a binding missing
 * from the environment, unknown keys, several config files, …) are in `warnings`.
 *
 * @throws {ConfigError} with one clear message (file, line, key path) for a syntax error, a value
 *   of the wrong type or out of range, a duplicate binding name or an unknown environment.
 * @example
 * const config = loadProjectConfig({ path: findWranglerConfig(process.cwd()) ?? "wrangler.jsonc", envName: "staging" });
 * for (const warning of config.warnings) console.warn(warning);
 * console.log(config.name, config.kvNamespaces.map((kv) => kv.binding));
 */
export function loadProjectConfig(options: LoadProjectConfigOptions): ProjectConfig {
  const source = readConfigFile(options.path);
  const dir = dirname(source.path);
  const ctx: CheckContext = { source, dir, warnings: [], names: [], unsupported: [] };
  const others = wranglerConfigsIn(dir).map((path) => basename(path));
  if (others.length > 1) {
    const winner = others[0] === source.fileName ? ` (wrangler reads the first of ${WRANGLER_CONFIG_FILES.join(", ")})` : "";
    ctx.warnings.push(`several wrangler config files in ${dir}: ${others.join(", ")}; reading ${source.fileName}${winner}`);
  }
  return buildProjectConfig(ctx, resolveEnvironment(ctx, options.envName, options.envFrom));
}
