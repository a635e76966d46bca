import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";

/** Files read for agent vars, in order; a later file overrides an earlier one. */
export const VAR_FILES = [".env", ".dev.vars"] as const;

/** The vars handed to agents and where they came from. */
export interface LoadedVars {
  /** Merged vars: file values, overridden by the process environment for the same names. */
  vars: Record<string, string>;
  /** Absolute paths of the files that existed and were read. */
  files: string[];
}

/**
 * Reads `.env` then `.dev.vars` from `dir` (both optional; `.dev.vars` wins on conflicts).
 *
 * Only names that appear in a file become vars: the process environment is not exposed to agents
 * wholesale. But a name that is also set in `processEnv` takes the process value, so a deployment
 * can override a file default (declare `API_KEY=` in `.env`, set the real key in the environment).
 *
 * @throws {Error} when a file exists but cannot be read.
 */
export function loadVarFiles(dir: string, processEnv: NodeJS.ProcessEnv): LoadedVars {
  const fromFiles: Record<string, string> = {};
  const files: string[] = [];
  for (const name of VAR_FILES) {
    const path = join(dir, name);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`Could not read ${path}: ${(error as Error).message}`, { cause: error });
    }
    files.push(path);
    // As wrangler reads .dev.vars and .env: dotenv's rules, not node:util's parseEnv (which cuts
    // `"{\"a\":1}"` at the first escaped quote and lets an unclosed quote swallow the lines after it).
    Object.assign(fromFiles, parse(text));
  }
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(fromFiles)) vars[key] = processEnv[key] ?? value;
  return { vars, files };
}

/**
 * Copies `vars` into `processEnv` for names it does not have yet, so code that reads `process.env`
 * sees the same values as `this.env`. Existing values are never overwritten.
 */
export function exportVars(vars: Readonly<Record<string, string>>, processEnv: NodeJS.ProcessEnv): void {
  for (const [key, value] of Object.entries(vars)) {
    if (processEnv[key] === undefined) processEnv[key] = value;
  }
}
