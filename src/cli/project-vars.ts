import { assertRequiredSecrets, loadDevVars } from "../config/index.ts";
import type { ProjectConfig } from "../config/types.ts";
import { openSecretStore, secretNameClashes, storedSecretClashMessage, varsFileClashMessage, type SecretStore } from "../secrets/index.ts";

/** A wrangler project's vars and secrets, merged. */
export interface ProjectVars {
  /** What `env` gets: strings, and JSON values from config `vars`. */
  vars: Record<string, unknown>;
  /** The environment's secret store (also behind `secrets_store_secrets` bindings). */
  secrets: SecretStore;
  /** The values of the secrets among them (stored, from vars files, or required): scrubbed from log lines. */
  secretValues: string[];
  /** Vars files read. */
  files: string[];
  warnings: string[];
}

/**
 * Merges, later winning: config `vars` < secrets stored with `hearth secret put` < `.dev.vars(.<env>)`
 * or the `.env` family < the process environment, for names declared in any of those (so a
 * deployment can set a var or a secret in its environment). Then checks `secrets.required`.
 * A stored secret named like a config var or binding stops start-up, as Cloudflare refuses the pair;
 * so does a var from a vars file named like a binding.
 *
 * `secrets`: the environment's store when it is not the data directory's (a cluster's Postgres).
 *
 * @throws {Error} for a missing required secret, a stored secret named like a var or a binding (a line
 *   for each), or a secret store that cannot be read (wrong key).
 */
export function loadProjectVars(
  config: ProjectConfig,
  baseDataDir: string,
  processEnv: NodeJS.ProcessEnv,
  secrets: SecretStore = openSecretStore({ dataDir: baseDataDir, envName: config.envName, keyEnv: processEnv.HEARTH_SECRET_KEY }),
): ProjectVars {
  const names = secrets.list();
  const clashes = secretNameClashes(names, config);
  if (clashes.length > 0) throw new Error(clashes.map((clash) => storedSecretClashMessage(clash, config, secrets.location)).join("\n"));
  const stored = names.length > 0 ? secrets.all() : {};
  const dev = loadDevVars({
    dir: config.dir,
    envName: config.envName,
    processEnv,
    secretsRequired: config.secretsRequired,
    configVarNames: Object.keys(config.vars),
  });
  // A var may replace a config var (that is what the files are for); a binding's name it may not take.
  const hidden = secretNameClashes(Object.keys(dev.vars), config).filter((clash) => clash.kind === "binding");
  if (hidden.length > 0) throw new Error(hidden.map((clash) => varsFileClashMessage(clash, config, dev.files)).join("\n"));
  const vars: Record<string, unknown> = { ...config.vars, ...stored, ...dev.vars };
  const declared = new Set([...Object.keys(config.vars), ...Object.keys(stored), ...Object.keys(dev.vars), ...(config.secretsRequired ?? [])]);
  for (const name of declared) {
    const value = processEnv[name];
    if (value !== undefined) vars[name] = value;
  }
  if (config.secretsRequired !== undefined) {
    assertRequiredSecrets(config.secretsRequired, vars, { configFile: config.path, envName: config.envName });
  }
  const secretNames = new Set([...Object.keys(stored), ...Object.keys(dev.vars), ...(config.secretsRequired ?? [])]);
  const secretValues = [...secretNames].map((name) => vars[name]).filter((value): value is string => typeof value === "string");
  return { vars, secrets, secretValues, files: dev.files, warnings: dev.warnings };
}
