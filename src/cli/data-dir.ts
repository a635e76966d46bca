/**
 * Where a project's data lives, for `dev` / `start` and for the commands that are not servers
 * (`hearth inspect`, `secret`, `d1`). Kept apart from project.ts, which loads the runtime: a command
 * given `--data` (or HEARTH_DATA_DIR) needs none of it.
 * @module
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULTS, HEARTH_CONFIG_FILE } from "./defaults.ts";
import { CliError } from "./errors.ts";

/**
 * The data directory as `dev` / `start` resolve it, for the commands that are not servers: `--data`,
 * else HEARTH_DATA_DIR, else hearth.config.ts's `dataDir` (relative to `projectDir`), else `.hearth`.
 * @example
 * await baseDataDir(process.cwd(), process.cwd(), "./data", process.env); // <cwd>/data
 */
export async function baseDataDir(cwd: string, projectDir: string, flag: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (flag !== undefined) return resolve(cwd, flag);
  const fromEnv = env.HEARTH_DATA_DIR;
  if (fromEnv !== undefined && fromEnv.trim() !== "") return resolve(cwd, fromEnv);
  // Loading hearth.config.ts takes the TypeScript loader and the runtime: only when there is one.
  const settings = existsSync(join(projectDir, HEARTH_CONFIG_FILE)) ? await (await import("./hearth-config.ts")).loadHearthConfig(projectDir) : undefined;
  if (settings?.dataDir !== undefined) return resolve(projectDir, settings.dataDir);
  return resolve(cwd, DEFAULTS.dataDir);
}

/**
 * Where an environment's data lives: the data directory itself, or `<data>/env/<name>` with `--env`.
 * @example
 * environmentDataDir("/srv/app/.hearth", "staging"); // "/srv/app/.hearth/env/staging"
 */
export function environmentDataDir(dataDir: string, envName: string | undefined): string {
  if (envName === undefined) return dataDir;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(envName)) {
    throw new CliError("usage", `--env ${JSON.stringify(envName)}: an environment name is 1-64 letters, digits, "_" or "-" (it names a data directory)`);
  }
  return join(dataDir, "env", envName);
}
