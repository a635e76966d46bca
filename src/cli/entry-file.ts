/**
 * The entry file itself, before any of it runs: where it is, and the loader that imports a project
 * (tsx and the module map). Apart from entry.ts, which imports the runtime to recognise agent classes:
 * `hearth dev`'s supervisor resolves the entry and reads hearth.config.ts, and should not load the
 * whole runtime to do it (its child server does).
 * @module
 */
import { statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { register } from "tsx/esm/api";
import { registerModuleMap } from "../compat/module-map.ts";
import { CliError } from "./errors.ts";

/** The absolute path of `entry` and how to show it, after checking it is an existing file. */
export function resolveEntry(entry: string, cwd: string): { path: string; display: string } {
  const path = resolve(cwd, entry);
  const rel = relative(cwd, path);
  const display = rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." ? rel : path;
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // Reported below.
  }
  if (!isFile) {
    throw new CliError("entry-not-found", `Entry file not found: ${display}\n  (looked for ${path})`);
  }
  return { path, display };
}

let loaderRegistered = false;

/**
 * Prepares this process to import a project: TypeScript through tsx, and the module map (`agents`,
 * `cloudflare:workers` … → Hearth). Registered after tsx, so its resolution runs first.
 */
export function registerProjectLoader(): void {
  if (loaderRegistered) return;
  loaderRegistered = true;
  register();
  registerModuleMap();
}

/**
 * The default export. A project without `"type": "module"` is compiled to CommonJS, whose
 * `export default` arrives as `module.exports.default` behind an `__esModule` marker; without one
 * (only named exports), `module.exports` itself is not a default export.
 */
export function defaultOf(mod: Record<string, unknown>): unknown {
  const value = mod.default as { __esModule?: unknown; default?: unknown } | undefined;
  if (typeof value === "object" && value !== null && value.__esModule === true) return value.default;
  return value;
}
