import { statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { devVarsFiles, findWranglerConfig, loadProjectConfig, type HearthConfig } from "../config/index.ts";
import type { ProjectConfig } from "../config/types.ts";
import type { RunOptions } from "./args.ts";
import { VAR_FILES } from "./env-files.ts";
import { resolveEntry } from "./entry-file.ts";
import { environmentDataDir } from "./data-dir.ts";
import { HEARTH_CONFIG_FILE } from "./defaults.ts";
import { CliError } from "./errors.ts";
import { loadHearthConfig } from "./hearth-config.ts";
import { isSupervised } from "./ipc.ts";

/** What `dev` and `start` serve: the entry, and the wrangler project around it when there is one. */
export interface Project {
  /** The wrangler config resolved for `--env`; undefined when the entry was given alone. */
  config: ProjectConfig | undefined;
  /**
   * The worker's entry; undefined for a Worker with only static assets (a config with `assets` and no
   * `main`, which Cloudflare serves as it is): the assets answer every request.
   */
  entry: { path: string; display: string } | undefined;
  /** The run options with hearth.config.ts and wrangler's `dev` settings applied where no flag set them. */
  options: RunOptions;
  /** Where this environment's data lives: the data directory, or `<data>/env/<name>` with `--env`. */
  dataDir: string;
  /** The project's directory: watched by `dev`. */
  dir: string;
  /** Files outside the watched code that restart `dev` when they change (config, vars files). */
  watchFiles: string[];
  /** hearth.config.ts, when there is one. */
  settings: HearthConfig | undefined;
}

/**
 * Finds the project: the wrangler config (`--config`, else one in the working directory) resolved for
 * `--env`, its `main` (or the entry on the command line), and hearth.config.ts.
 *
 * @throws {CliError} "usage" for `--env` without a config or no entry at all; "config" for a bad
 *   config; "entry-not-found" when the entry does not exist.
 */
export async function resolveProject(given: RunOptions, cwd: string): Promise<Project> {
  let options = projectDirectoryAsConfig(given, cwd);
  const configPath = configPathOf(options, cwd);
  let config: ProjectConfig | undefined;
  if (configPath !== undefined) {
    try {
      config = loadProjectConfig({ path: configPath, envName: options.envName, envFrom: options.envFrom });
    } catch (error) {
      throw new CliError("config", (error as Error).message, { cause: error });
    }
  } else if (options.envName !== undefined && options.envFrom === "CLOUDFLARE_ENV") {
    // CLOUDFLARE_ENV may be set for other projects' sake: an entry served alone has no environments.
    options = { ...options, envName: undefined };
  } else if (options.envName !== undefined) {
    throw new CliError("usage", `--env ${options.envName} needs a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml) in ${cwd}, or --config <path>.`);
  }

  const entryPath = options.entry ?? config?.main;
  let entry: Project["entry"];
  if (entryPath !== undefined) entry = resolveProjectEntry(entryPath, cwd, options.entry === undefined ? config : undefined);
  else if (config?.assets !== undefined) checkAssetsOnly(config, cwd);
  else {
    // The server `hearth dev` runs is a `start`: its user typed `dev`.
    const command = isSupervised() ? "dev" : options.command;
    // A config without "main" is the config's to fix: `hearth dev` waits for the next save, as for any config error.
    if (config) throw new CliError("config", `${relative(cwd, config.path) || config.path} has no "main": add "main": "src/index.ts" or give the entry: hearth ${command} src/index.ts`);
    throw new CliError("usage", `Missing entry file: hearth ${command} <entry>, e.g. hearth ${command} src/index.ts — or run it in a directory with a wrangler config.`);
  }
  const dir = config?.dir ?? dirname(entry?.path ?? cwd);
  const settings = await loadHearthConfig(config?.dir ?? cwd);
  const applied = applySettings(options, settings, config, cwd);
  const dataDir = environmentDataDir(applied.dataDir, options.envName);
  const watchFiles = config ? configWatchFiles(config.path, options.envName) : VAR_FILES.map((name) => join(cwd, name));
  return { config, entry, options: applied, dataDir, dir, watchFiles, settings };
}

/**
 * The entry, checked to exist. One the config's `main` names and a `build.command` should produce
 * (`dist/index.js` before the build) is reported with that command: Hearth does not run it.
 */
function resolveProjectEntry(entryPath: string, cwd: string, config: ProjectConfig | undefined): { path: string; display: string } {
  try {
    return resolveEntry(entryPath, cwd);
  } catch (error) {
    const build = config?.build;
    if (!(error instanceof CliError) || error.kind !== "entry-not-found" || build === undefined) throw error;
    const where = build.cwd === undefined ? "" : ` in ${build.cwd}`;
    throw new CliError("entry-not-found", `${error.message}\n  wrangler's build.command is \`${build.command}\`: run it first${where} (Hearth does not run it).`, { cause: error });
  }
}

/**
 * A Worker with only static assets (no `main`): refused where wrangler refuses it, when something
 * in the config needs a Worker script.
 *
 * @throws {CliError} "config" for an assets binding or `run_worker_first: true` without `main`.
 */
function checkAssetsOnly(config: ProjectConfig, cwd: string): void {
  const file = relative(cwd, config.path) || config.path;
  const fix = `add a Worker script ("main": "src/index.ts") to ${file}`;
  if (config.assets?.binding !== undefined) {
    throw new CliError("config", `${file}: assets.binding cannot be used in an assets-only Worker (no "main"), as in wrangler: remove the binding, or ${fix}.`);
  }
  if (config.assets?.runWorkerFirst === true) {
    throw new CliError("config", `${file}: assets.run_worker_first = true needs a Worker script, as in wrangler: remove it, or ${fix}.`);
  }
}

/**
 * The wrangler config the project is read from: `--config`, the one in a project directory given as
 * the entry, else one in the working directory; undefined when there is none.
 *
 * @throws {CliError} "usage" when `--config` names no file, or a directory given as the entry has no config.
 */
export function configPathOf(given: RunOptions, cwd: string): string | undefined {
  const options = projectDirectoryAsConfig(given, cwd);
  if (options.configPath !== undefined) checkConfigFile(options.configPath, cwd, `hearth ${options.command}`);
  return options.configPath ?? findWranglerConfig(cwd);
}

/**
 * `--config` names the wrangler config file. A directory is refused as a usage mistake, saying what
 * was expected: read as a config it failed on its missing extension, and `dev` took that for a
 * config to wait on, watching the directory's parent. `projectCommand` (`hearth dev`) also offers
 * the directory as the project argument.
 *
 * @throws {CliError} "usage" when `path` does not exist or is a directory.
 */
export function checkConfigFile(path: string, cwd: string, projectCommand?: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new CliError("usage", `--config: no such file ${path}`);
  if (!stat.isDirectory()) return;
  const shown = relative(cwd, path) || ".";
  const expected = `--config ${shown} is a directory; --config takes a wrangler config file (wrangler.jsonc, wrangler.json or wrangler.toml)`;
  const inside = findWranglerConfig(path);
  if (inside === undefined) throw new CliError("usage", `${expected}, and there is none in ${shown}`);
  const file = `--config ${join(shown, basename(inside))}`;
  throw new CliError("usage", `${expected}: use ${file}${projectCommand ? `, or give the directory as the project: ${projectCommand} ${shown}` : ""}`);
}

/** The files besides code whose change restarts `dev`: the config, hearth.config.ts and the vars files beside it. */
export function configWatchFiles(configPath: string, envName: string | undefined): string[] {
  const dir = dirname(configPath);
  return [configPath, join(dir, HEARTH_CONFIG_FILE), ...devVarsFiles(dir, envName)];
}

/** `hearth dev examples/app`: a directory given as the entry means the wrangler config in it. */
function projectDirectoryAsConfig(options: RunOptions, cwd: string): RunOptions {
  if (options.entry === undefined || options.configPath !== undefined) return options;
  const path = resolve(cwd, options.entry);
  // A missing entry is reported as such later.
  if (!(statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false)) return options;
  const configPath = findWranglerConfig(path);
  if (configPath === undefined) {
    throw new CliError("usage", `${options.entry} is a directory without a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml): give an entry file, or a project directory`);
  }
  return { ...options, entry: undefined, configPath };
}


/** Flags and HEARTH_* variables win; then hearth.config.ts; then wrangler's `dev` block; then defaults. */
function applySettings(options: RunOptions, settings: HearthConfig | undefined, config: ProjectConfig | undefined, cwd: string): RunOptions {
  const open = new Set(options.defaulted ?? []);
  const next: RunOptions = { ...options, defaulted: [] };
  const port = settings?.port ?? config?.dev.port;
  if (open.has("port") && port !== undefined) next.port = port;
  const host = settings?.host ?? config?.dev.ip;
  if (open.has("host") && host !== undefined) next.host = host;
  if (open.has("dataDir") && settings?.dataDir !== undefined) next.dataDir = resolve(config?.dir ?? cwd, settings.dataDir);
  if (open.has("durability") && settings?.durability !== undefined) next.durability = settings.durability;
  if (next.smtpPort === undefined && settings?.smtpPort !== undefined) next.smtpPort = settings.smtpPort;
  return next;
}
