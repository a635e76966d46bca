import { ConfigError } from "./errors.ts";
import type { KeyPath } from "./key-path.ts";
import { INHERITABLE_KEYS, NON_INHERITABLE_KEYS, TOP_LEVEL_ONLY_KEYS } from "./keys.ts";
import { asTable, type CheckContext } from "./read.ts";

/** One key in effect for the chosen environment, and where it was written. */
export interface ResolvedKey {
  value: unknown;
  /** `["kv_namespaces"]` at the top level, `["env", "staging", "kv_namespaces"]` inside an environment. */
  at: KeyPath;
}

/** The config as one environment sees it, after wrangler's inheritance rules. */
export interface ResolvedEnvironment {
  /** The `--env` name, or undefined for the top level. */
  envName: string | undefined;
  /** Every key in effect (top-level-only keys included), by name. */
  keys: Map<string, ResolvedKey>;
  /** The names of the `env.<name>` sections the file defines. */
  environments: string[];
}

/**
 * Applies wrangler's environment rules for `envName`:
 * - inheritable keys come from `env.<name>`, else from the top level (`name` gets `-<env>` appended);
 * - non-inheritable keys (bindings, `vars`, …) come from `env.<name>` only; one that exists at the
 *   top level but not in the environment gets a warning naming both;
 * - top-level-only keys (`dev`, …) come from the top level.
 * An empty or missing `envName` means the top level.
 *
 * @throws {ConfigError} when `envName` names no `env.<name>` section (listing those that exist),
 *   or `env` is not a table of tables.
 * @example
 * const { keys } = resolveEnvironment(ctx, "staging");
 * keys.get("name")?.value; // "my-worker-staging"
 */
export function resolveEnvironment(ctx: CheckContext, envName: string | undefined, envFrom: "--env" | "CLOUDFLARE_ENV" = "--env"): ResolvedEnvironment {
  const raw = ctx.source.raw;
  const sections = raw.env === undefined ? {} : asTable(ctx, raw.env, ["env"]);
  const environments = Object.keys(sections);
  const keys = new Map<string, ResolvedKey>();

  if (envName === undefined || envName === "") {
    for (const [key, value] of Object.entries(raw)) if (key !== "env") keys.set(key, { value, at: [key] });
    return { envName: undefined, keys, environments };
  }

  if (!Object.hasOwn(sections, envName)) throw unknownEnvironment(ctx, envName, environments, envFrom);
  const section = asTable(ctx, sections[envName], ["env", envName]);
  const envPath = (key: string): KeyPath => ["env", envName, key];

  for (const [key, value] of Object.entries(section)) {
    if (INHERITABLE_KEYS.has(key) || NON_INHERITABLE_KEYS.has(key)) keys.set(key, { value, at: envPath(key) });
    else if (TOP_LEVEL_ONLY_KEYS.has(key)) {
      ctx.warnings.push(`${ctx.source.fileName}: "${key}" is only read at the top level, not in "env.${envName}" (ignored)`);
    } else {
      ctx.warnings.push(`${ctx.source.fileName}: unknown key "${key}" in "env.${envName}" (ignored)`);
    }
  }

  for (const [key, value] of Object.entries(raw)) {
    if (keys.has(key) || key === "env") continue;
    if (INHERITABLE_KEYS.has(key)) {
      keys.set(key, { value: key === "name" ? appendEnvName(value, envName) : value, at: [key] });
    } else if (NON_INHERITABLE_KEYS.has(key)) {
      ctx.warnings.push(missingInEnvironment(ctx.source.fileName, key, envName));
    } else {
      // Top-level-only and unknown keys: validation reads the first and warns about the second.
      keys.set(key, { value, at: [key] });
    }
  }
  return { envName, keys, environments };
}

/** wrangler's `appendEnvName`: an inherited `name` becomes `<name>-<env>`. */
function appendEnvName(value: unknown, envName: string): unknown {
  return typeof value === "string" && value !== "" ? `${value}-${envName}` : value;
}

function missingInEnvironment(fileName: string, key: string, envName: string): string {
  return (
    `${fileName}: "${key}" exists at the top level, but not on "env.${envName}". ` +
    `"${key}" is not inherited by environments, so "env.${envName}" has none; ` +
    `add "${key}" to "env.${envName}" if it needs them.`
  );
}

function unknownEnvironment(ctx: CheckContext, envName: string, environments: string[], envFrom: "--env" | "CLOUDFLARE_ENV"): ConfigError {
  const given = envFrom === "CLOUDFLARE_ENV" ? `CLOUDFLARE_ENV=${envName}` : `--env ${envName}`;
  const drop = envFrom === "CLOUDFLARE_ENV" ? "unset CLOUDFLARE_ENV" : "drop --env";
  const available =
    environments.length === 0
      ? `${ctx.source.fileName} defines no environments (no "env" section); ${drop} to use the top level`
      : `The environments defined are: ${environments.map((name) => `"${name}"`).join(", ")}`;
  return new ConfigError(
    `${ctx.source.fileName}: no environment found with name "${envName}" (${given}). ${available}.`,
    { file: ctx.source.path },
  );
}

