/**
 * Loads a project's hearth.config.ts (TypeScript, through the project loader) and checks it.
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { validateHearthConfig, type HearthConfig } from "../config/index.ts";
import { HEARTH_CONFIG_FILE } from "./defaults.ts";
import { defaultOf, registerProjectLoader } from "./entry-file.ts";
import { CliError } from "./errors.ts";

/**
 * The settings in `<dir>/hearth.config.ts`, or undefined when there is none.
 * @throws {CliError} "config" when the file throws while loading or its settings are not valid.
 * @example
 * const settings = await loadHearthConfig(process.cwd()); // settings?.dataDir, settings?.durability …
 */
export async function loadHearthConfig(dir: string): Promise<HearthConfig | undefined> {
  const path = join(dir, HEARTH_CONFIG_FILE);
  if (!existsSync(path)) return undefined;
  let mod: Record<string, unknown>;
  registerProjectLoader();
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError("config", `${HEARTH_CONFIG_FILE} threw while loading: ${(error as Error).message}`, { cause: error });
  }
  try {
    return validateHearthConfig(defaultOf(mod), path);
  } catch (error) {
    throw new CliError("config", (error as Error).message, { cause: error });
  }
}
