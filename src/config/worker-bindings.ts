import type { KeyPath } from "./key-path.ts";
import {
  asTable,
  bindingName,
  checkIdentifier,
  type CheckContext,
  fail,
  optionalString,
  optionalStringArray,
  requiredString,
  tablesOf,
  warnUnknownKeys,
} from "./read.ts";
import type { DurableObjectBindingConfig, HyperdriveConfig, SecretsStoreSecretConfig, SendEmailConfig, WorkflowConfig } from "./types.ts";
import { addUnsupported, SCRIPT_NAME_INSTEAD } from "./unsupported.ts";

/** Workflow names (Cloudflare's rule): letters, digits, `-` and `_`, at most 64 characters. */
const WORKFLOW_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/**
 * A `script_name` naming this worker itself (its resolved `name`: `app-staging` under `--env staging`)
 * is no other worker: wrangler binds the class locally, as if `script_name` were not set.
 */
function otherWorker(scriptName: string | undefined, workerName: string | undefined): string | undefined {
  return scriptName === undefined || scriptName === workerName ? undefined : scriptName;
}

/**
 * `durable_objects.bindings`; a binding with `script_name` naming another worker is kept and also
 * reported as unsupported. `workerName` is the worker's resolved `name`.
 */
export function readDurableObjects(ctx: CheckContext, value: unknown, at: KeyPath, workerName?: string): DurableObjectBindingConfig[] {
  const table = asTable(ctx, value, at);
  warnUnknownKeys(ctx, table, ["bindings"], at);
  if (table.bindings === undefined) return [];
  return tablesOf(ctx, table.bindings, [...at, "bindings"]).map(({ table: binding, at: item }) => {
    warnUnknownKeys(ctx, binding, ["name", "class_name", "script_name", "environment"], item);
    const name = bindingName(ctx, binding, "name", item);
    const className = requiredString(ctx, binding, "class_name", item);
    checkIdentifier(ctx, className, [...item, "class_name"], "class name");
    const scriptName = otherWorker(optionalString(ctx, binding, "script_name", item), workerName);
    optionalString(ctx, binding, "environment", item);
    const config: DurableObjectBindingConfig = { name, className };
    if (scriptName !== undefined) {
      config.scriptName = scriptName;
      addUnsupported(ctx, "durable_objects", name, [...item, "name"], SCRIPT_NAME_INSTEAD.durable_objects);
    }
    return config;
  });
}

/**
 * `workflows`: unique workflow names; a `script_name` naming another worker than `workerName` is
 * reported as unsupported; `schedules` get a warning.
 */
export function readWorkflows(ctx: CheckContext, value: unknown, at: KeyPath, workerName?: string): WorkflowConfig[] {
  const names = new Set<string>();
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding", "name", "class_name", "script_name", "limits", "schedules", "remote", "experimental_remote"], item);
    const binding = bindingName(ctx, table, "binding", item);
    const name = requiredString(ctx, table, "name", item);
    if (!WORKFLOW_NAME.test(name)) {
      fail(ctx, [...item, "name"], `"${name}" is not a valid workflow name: letters, digits, - and _, at most 64 characters`);
    }
    if (names.has(name)) fail(ctx, [...item, "name"], `"${name}" is already the name of another workflow (workflow names are unique)`);
    names.add(name);
    const className = requiredString(ctx, table, "class_name", item);
    checkIdentifier(ctx, className, [...item, "class_name"], "class name");
    const scriptName = otherWorker(optionalString(ctx, table, "script_name", item), workerName);
    if (table.schedules !== undefined) {
      ctx.warnings.push(`${ctx.source.fileName}: workflows "${name}": "schedules" are not run by Hearth; start the workflow from a cron trigger (triggers.crons) instead`);
    }
    const config: WorkflowConfig = { binding, name, className };
    if (scriptName !== undefined) {
      config.scriptName = scriptName;
      addUnsupported(ctx, "workflows", binding, [...item, "binding"], SCRIPT_NAME_INSTEAD.workflows);
    }
    return config;
  });
}

/** `worker_loaders[].binding`. */
export function readWorkerLoaders(ctx: CheckContext, value: unknown, at: KeyPath): string[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding"], item);
    return bindingName(ctx, table, "binding", item);
  });
}

/** `send_email`: Hearth sends through its own SMTP. `destination_address` and `allowed_destination_addresses` exclude each other. */
export function readSendEmail(ctx: CheckContext, value: unknown, at: KeyPath): SendEmailConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(
      ctx,
      table,
      ["name", "destination_address", "allowed_destination_addresses", "allowed_sender_addresses", "remote", "experimental_remote"],
      item,
    );
    const config: SendEmailConfig = { name: bindingName(ctx, table, "name", item) };
    const destination = optionalString(ctx, table, "destination_address", item);
    const allowedDestinations = optionalStringArray(ctx, table, "allowed_destination_addresses", item);
    const allowedSenders = optionalStringArray(ctx, table, "allowed_sender_addresses", item);
    if (destination !== undefined && allowedDestinations !== undefined) {
      fail(ctx, [...item, "destination_address"], "cannot be set together with allowed_destination_addresses (keep one)");
    }
    if (destination !== undefined) config.destinationAddress = destination;
    if (allowedDestinations !== undefined) config.allowedDestinationAddresses = allowedDestinations;
    if (allowedSenders !== undefined) config.allowedSenderAddresses = allowedSenders;
    return config;
  });
}

/** `secrets_store_secrets`: `{ binding, store_id, secret_name }`, all required. */
export function readSecretsStoreSecrets(ctx: CheckContext, value: unknown, at: KeyPath): SecretsStoreSecretConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding", "store_id", "secret_name"], item);
    return {
      binding: bindingName(ctx, table, "binding", item),
      storeId: requiredString(ctx, table, "store_id", item),
      secretName: requiredString(ctx, table, "secret_name", item),
    };
  });
}

/**
 * `hyperdrive`: `{ binding, id?, localConnectionString? }`. The connection string is checked where
 * it is used (the environment may replace it), and never repeated in a message: it holds a password.
 */
export function readHyperdrive(ctx: CheckContext, value: unknown, at: KeyPath): HyperdriveConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding", "id", "localConnectionString"], item);
    const config: HyperdriveConfig = { binding: bindingName(ctx, table, "binding", item) };
    const id = optionalString(ctx, table, "id", item);
    if (id !== undefined) config.id = id;
    if (typeof table.localConnectionString !== "string" && table.localConnectionString !== undefined) {
      fail(ctx, [...item, "localConnectionString"], "must be a string, a connection string such as postgres://user:password@localhost:5432/database");
    }
    // An empty one is no connection string, as in wrangler (which then asks for one).
    if (typeof table.localConnectionString === "string" && table.localConnectionString !== "") config.localConnectionString = table.localConnectionString;
    return config;
  });
}
