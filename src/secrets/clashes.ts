import { basename } from "node:path";
import type { ProjectConfig } from "../config/types.ts";
import { showName } from "./errors.ts";

/** A secret name that `env` already gives to a var or a binding of the project's config. */
export interface SecretNameClash {
  name: string;
  kind: "var" | "binding";
  /** What the config declares under the name, for messages: `the var SHARED`, `the kv_namespaces binding CACHE`. */
  declared: string;
}

/**
 * The names among `secretNames` that the config's vars or bindings use: `env.NAME` holds one value,
 * and Cloudflare refuses such a secret ("Binding name 'NAME' already in use"). Two names are not
 * clashes: a var listed in `secrets.required` (the var is the secret's local stand-in, which the
 * stored secret replaces), and the `secret_name` of a `secrets_store_secrets` binding (the secret is
 * that binding's value, which Cloudflare keeps apart from the worker's own names).
 *
 * @example
 * secretNameClashes(["SHARED", "API_KEY"], config); // [{ name: "SHARED", kind: "var", declared: "the var SHARED" }]
 */
export function secretNameClashes(secretNames: Iterable<string>, config: ProjectConfig): SecretNameClash[] {
  const used = namesOnEnv(config);
  const required = new Set(config.secretsRequired ?? []);
  const readByBindings = new Set(config.secretsStoreSecrets.map((secret) => secret.secretName));
  const clashes: SecretNameClash[] = [];
  for (const name of secretNames) {
    const clash = used.get(name);
    if (clash === undefined || readByBindings.has(name)) continue;
    if (clash.kind === "var" && required.has(name)) continue;
    clashes.push(clash);
  }
  return clashes;
}

/**
 * Why a server does not start with a stored secret of that name: one line, naming what wins, and the fixes.
 *
 * @param location where the secret is stored (the store's `location`).
 */
export function storedSecretClashMessage(clash: SecretNameClash, config: ProjectConfig, location: string): string {
  const env = config.envName === undefined || config.envName === "" ? "" : ` --env ${config.envName}`;
  const wins = clash.kind === "var" ? "the secret would silently replace the var" : "the binding would silently hide the secret";
  return (
    `The secret ${clash.name} stored in ${location} has the name of ${clash.declared} in ${basename(config.path)}: ` +
    `env.${clash.name} holds one value, and ${wins} (Cloudflare refuses both together: "Binding name '${clash.name}' already in use"). ` +
    `Delete the secret (hearth secret delete ${clash.name}${env}) or rename the ${clash.kind}.`
  );
}

/**
 * Why a server does not start with a var from a vars file (`.dev.vars`, `.env`) named like a binding:
 * the binding would silently hide it, or it the binding.
 *
 * @param files the vars files read (absolute paths).
 */
export function varsFileClashMessage(clash: SecretNameClash, config: ProjectConfig, files: readonly string[]): string {
  const from = files.map((file) => basename(file)).join(" or ") || "a vars file";
  return `The var ${clash.name} from ${from} has the name of ${clash.declared} in ${basename(config.path)}: env.${clash.name} holds one value. Rename the var.`;
}

/** Why `hearth secret put` / `bulk` refuses the name, as wrangler does (its error 10053). */
export function secretPutClashMessage(clash: SecretNameClash, config: ProjectConfig): string {
  return (
    `secret name ${showName(clash.name)} is already in use by ${clash.declared} in ${basename(config.path)}: env.${clash.name} holds one value ` +
    `(wrangler refuses it too: "Binding name '${clash.name}' already in use"). Use another name, or remove the ${clash.kind} from the config first`
  );
}

/** Every name the config puts on `env`, the first declaration kept. */
function namesOnEnv(config: ProjectConfig): Map<string, SecretNameClash> {
  const names = new Map<string, SecretNameClash>();
  const add = (name: string, kind: "var" | "binding", declared: string): void => {
    if (!names.has(name)) names.set(name, { name, kind, declared });
  };
  for (const name of Object.keys(config.vars)) add(name, "var", `the var ${name}`);
  const bindings: Array<[string, string[]]> = [
    ["durable_objects", config.durableObjects.map((binding) => binding.name)],
    ["kv_namespaces", config.kvNamespaces.map((kv) => kv.binding)],
    ["d1_databases", config.d1Databases.map((db) => db.binding)],
    ["ratelimits", config.rateLimits.map((limit) => limit.name)],
    ["queues.producers", config.queueProducers.map((producer) => producer.binding)],
    ["workflows", config.workflows.map((workflow) => workflow.binding)],
    ["worker_loaders", config.workerLoaders],
    ["assets", config.assets?.binding === undefined ? [] : [config.assets.binding]],
    ["send_email", config.sendEmail.map((mail) => mail.name)],
    ["secrets_store_secrets", config.secretsStoreSecrets.map((secret) => secret.binding)],
    ["hyperdrive", config.hyperdrive.map((database) => database.binding)],
    ...config.unsupported.map((binding): [string, string[]] => [binding.key, [binding.binding]]),
  ];
  for (const [key, declared] of bindings) for (const name of declared) add(name, "binding", `the ${key} binding ${name}`);
  return names;
}
