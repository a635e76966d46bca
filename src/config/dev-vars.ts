import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse } from "dotenv";
import { expand } from "dotenv-expand";
import { ConfigError } from "./errors.ts";

/** Options of {@link loadDevVars}. */
export interface LoadDevVarsOptions {
  /** The directory of the wrangler config: the files sit next to it. */
  dir: string;
  /** `--env`, or undefined for the top level. */
  envName?: string | undefined;
  /** Read for `CLOUDFLARE_*` switches, and as a source of values where wrangler's rules say so. */
  processEnv: Readonly<Record<string, string | undefined>>;
  /** `secrets.required` when declared: then only those keys (and `configVarNames`) are kept. */
  secretsRequired?: readonly string[] | undefined;
  /** Names of the config's `vars`: kept too when `secretsRequired` is set, as local overrides of config values. */
  configVarNames?: readonly string[] | undefined;
}

/** What {@link loadDevVars} found. */
export interface DevVars {
  /** Values that override the config's `vars` (they are secret text in wrangler's terms). */
  vars: Record<string, string>;
  /** Absolute paths of the files read, in the order read. */
  files: string[];
  /** Keys dropped by the `secrets.required` filter, and the like. Names only, never values. */
  warnings: string[];
}

/**
 * Local vars and secrets with wrangler's rules (`getVarsForDev`):
 * 1. `.dev.vars.<env>` when it exists, else `.dev.vars`, taken as written (no `${VAR}` expansion);
 * 2. if neither exists and `CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV` is not "false": `.env`,
 *    `.env.local`, `.env.<env>`, `.env.<env>.local`, a later file overriding an earlier one, with
 *    `${VAR}` references expanded (dotenv-expand). `process.env` is included (and wins) when
 *    `CLOUDFLARE_INCLUDE_PROCESS_ENV` is "true" or `secrets.required` is declared.
 * Every file is parsed as wrangler parses it, with `dotenv.parse`: `KEY=value` or `KEY: value`; an
 * escaped quote does not end a quoted value (`"{\"a\":1}"` keeps `\"` as written); an unclosed
 * quote is part of the value, never the lines after it. The `.dev.vars` and `.env` families are
 * never combined. With `secretsRequired`, only required secrets and config var names are kept (the
 * others are named in a warning). Layering these over
 * config `vars` and stored secrets, and the process environment over all of them for declared
 * names, is the caller's (docs/secrets.md, "What the worker sees").
 *
 * @throws {ConfigError} when a file exists but cannot be read.
 * @example
 * const dev = loadDevVars({ dir: config.dir, envName: "staging", processEnv: process.env, secretsRequired: config.secretsRequired });
 * const env = { ...config.vars, ...dev.vars };
 */
export function loadDevVars(options: LoadDevVarsOptions): DevVars {
  const { dir, envName, processEnv, secretsRequired } = options;
  const envSuffix = envName === undefined || envName === "" ? undefined : envName;
  const warnings: string[] = [];
  let loaded: Loaded = { vars: {}, files: [], fileKeys: new Set() };

  const devVars = (envSuffix === undefined ? undefined : readVarsFile(join(dir, `.dev.vars.${envSuffix}`))) ?? readVarsFile(join(dir, ".dev.vars"));
  if (devVars !== undefined) {
    loaded = { vars: devVars.values, files: [devVars.path], fileKeys: new Set(Object.keys(devVars.values)) };
  } else if (processEnv.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV?.toLowerCase() !== "false") {
    const includeProcessEnv = processEnv.CLOUDFLARE_INCLUDE_PROCESS_ENV?.toLowerCase() === "true" || secretsRequired !== undefined;
    loaded = loadDotEnvFamily(dir, envSuffix, includeProcessEnv ? processEnv : undefined);
  }
  let { vars } = loaded;
  const { files } = loaded;

  if (secretsRequired !== undefined) {
    const keep = new Set([...secretsRequired, ...(options.configVarNames ?? [])]);
    // Keys that only came from the process environment are dropped quietly: it holds much else.
    const droppedFromFiles = [...loaded.fileKeys].filter((key) => !keep.has(key)).sort();
    if (droppedFromFiles.length > 0) {
      warnings.push(
        `Not loaded from ${files.map((path) => basename(path)).join(", ")}: ${droppedFromFiles.join(", ")}. ` +
          "With secrets.required declared, only required secrets and config vars are loaded (wrangler's rule); add them to secrets.required to use them.",
      );
    }
    vars = Object.fromEntries(Object.entries(vars).filter(([key]) => keep.has(key)));
  }
  return { vars, files, warnings };
}

/** Values read, the files they came from, and which keys the files (not the process) gave. */
interface Loaded {
  vars: Record<string, string>;
  files: string[];
  fileKeys: Set<string>;
}

/** The `.env` family of an environment, in the order a later file overrides an earlier one. */
function dotEnvFileNames(envName: string | undefined): string[] {
  const names = [".env", ".env.local"];
  if (envName !== undefined && envName !== "") names.push(`.env.${envName}`, `.env.${envName}.local`);
  return names;
}

/**
 * Every file {@link loadDevVars} may read for an environment (whichever exist): `hearth dev` restarts
 * when one of them appears or changes.
 */
export function devVarsFiles(dir: string, envName: string | undefined): string[] {
  const devVars = envName === undefined || envName === "" ? [".dev.vars"] : [`.dev.vars.${envName}`, ".dev.vars"];
  return [...devVars, ...dotEnvFileNames(envName)].map((name) => join(dir, name));
}

/** `.env`, `.env.local`, `.env.<env>`, `.env.<env>.local`, merged in order, then expanded. */
function loadDotEnvFamily(
  dir: string,
  envName: string | undefined,
  processEnv: Readonly<Record<string, string | undefined>> | undefined,
): Loaded {
  const names = dotEnvFileNames(envName);
  const merged: Record<string, string> = {};
  const files: string[] = [];
  for (const name of names) {
    const file = readVarsFile(join(dir, name));
    if (file === undefined) continue;
    files.push(file.path);
    Object.assign(merged, file.values);
  }
  // As wrangler: the process environment (when included) is the base and wins over the files.
  const target: Record<string, string> = {};
  if (processEnv !== undefined) {
    for (const [key, value] of Object.entries(processEnv)) if (value !== undefined) target[key] = value;
  }
  expand({ processEnv: target, parsed: merged });
  return { vars: target, files, fileKeys: new Set(Object.keys(merged)) };
}

function readVarsFile(path: string): { path: string; values: Record<string, string> } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw new ConfigError(`Could not read ${path}: ${(error as Error).message}`, { file: path, cause: error });
  }
  return { path, values: parse(text) };
}

/**
 * The names in `required` that `available` does not hold (an empty string counts as set).
 *
 * @example
 * missingRequiredSecrets(["API_KEY", "DB_URL"], { API_KEY: "…" }); // ["DB_URL"]
 */
export function missingRequiredSecrets(required: readonly string[], available: Readonly<Record<string, unknown>>): string[] {
  return required.filter((name) => !Object.hasOwn(available, name) || available[name] === undefined);
}

/**
 * Stops start-up when required secrets are missing, naming them (never any value) and where to set them.
 *
 * @throws {ConfigError} `Missing required secrets: A, B (secrets.required in wrangler.jsonc). …`
 * @example
 * assertRequiredSecrets(config.secretsRequired ?? [], env, { configFile: "wrangler.jsonc", envName: "staging" });
 */
export function assertRequiredSecrets(
  required: readonly string[],
  available: Readonly<Record<string, unknown>>,
  where: { configFile: string; envName?: string | undefined },
): void {
  const missing = missingRequiredSecrets(required, available);
  if (missing.length === 0) return;
  const envFlag = where.envName === undefined || where.envName === "" ? "" : ` --env ${where.envName}`;
  const devVarsFile = envFlag === "" ? ".dev.vars" : `.dev.vars.${where.envName} (or .dev.vars)`;
  throw new ConfigError(
    `Missing required secrets: ${missing.join(", ")} (secrets.required in ${where.configFile}). ` +
      `Set them in ${devVarsFile} or .env for development, in the process environment, or with \`hearth secret put ${missing[0]}${envFlag}\`.`,
    { keyPath: "secrets.required" },
  );
}
