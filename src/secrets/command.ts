import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadProjectConfig } from "../config/load.ts";
import type { ProjectConfig } from "../config/types.ts";
import { parseBulkInput } from "./bulk.ts";
import { secretNameClashes, secretPutClashMessage } from "./clashes.ts";
import { showName } from "./errors.ts";
import { KEY_ENV_VAR, keyFilePath } from "./key.ts";
import { PromptInterruptedError, readHiddenLine, readPipedValue } from "./read-value.ts";
import { openCommandStore, reachCluster, type ClusterSecrets, type CommandCluster } from "./command-store.ts";
import type { SecretStore } from "./store.ts";

/** The variable that names the cluster, as for `hearth start`: `hearth secret` then works on the cluster's secrets. */
export const CLUSTER_ENV_VAR = "HEARTH_CLUSTER";

/** The exit codes every `hearth` command returns (cli/errors.ts): a usage error, and a failure. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

/** What `hearth secret …` reads and writes, passed in so it runs the same in a test. */
export interface SecretCommandIo {
  /** The data directory (absolute, or relative to `cwd`). */
  dataDir: string;
  /** The environment from `--env`, when the caller parsed it already. */
  envName?: string;
  stdin: NodeJS.ReadableStream;
  /** Whether stdin is a terminal: then `put` prompts and reads without echo. */
  isTTY: boolean;
  /** A line of output (stdout). */
  out(line: string): void;
  /** A line of diagnostics (stderr). */
  err(line: string): void;
  /** Where `HEARTH_SECRET_KEY` (and `HEARTH_CLUSTER`) are read from. */
  processEnv: NodeJS.ProcessEnv;
  /** Resolves a relative `bulk` file; default `process.cwd()`. */
  cwd?: string;
  /** The project's wrangler config, when there is one: `put` and `bulk` refuse a name its vars or bindings use (of `--env`). */
  configPath?: string;
  /** Loads what reaches a cluster's secrets (`--cluster`); the CLI gives cluster/bindings/secret-command.ts. */
  clusterSecrets?: () => Promise<ClusterSecrets>;
}

/** The `hearth secret --help` text. */
export const SECRET_USAGE = `Usage: hearth secret <command> [options]

Commands:
  put <NAME>     Create or replace a secret; the value is read from stdin (trailing
                 whitespace trimmed), or prompted for without echo in a terminal
  delete <NAME>  Delete a secret
  list           The secrets' names, as JSON: [{ "name": …, "type": "secret_text" }]
  bulk [file]    Several at once from a JSON object ({"NAME": "value"}; null deletes
                 NAME) or .env lines (NAME=value), read from the file or from stdin
  import         Copy the data directory's secrets (of --env) into the cluster: for
                 moving a single node into a cluster; needs --cluster

Options:
  --env <name>              The environment whose secrets to change (each has its own)
  --data <dir>              The data directory (default .hearth)
  --cluster <postgres-url>  The cluster whose secrets to change, kept in its Postgres and
                            seen by every node (default: HEARTH_CLUSTER, when set)
  --schema <name>           The cluster's Postgres schema (default hearth)
  --replace                 import: overwrite the names the cluster has already
  -h, --help                Show this help

Secrets are encrypted with ${KEY_ENV_VAR} (32 bytes, hex or base64) when it is set,
else with <data>/secret.key, created with mode 0600 on the first put. A cluster's
secrets are encrypted with ${KEY_ENV_VAR} only: set it, the same on every node.
As wrangler does, put and bulk refuse a name the wrangler config (of --env) gives
to a var or a binding. Values are never printed.`;

interface ParsedArgs {
  help: boolean;
  command: string | undefined;
  positionals: string[];
  envName: string | undefined;
  dataDir: string | undefined;
  cluster: string | undefined;
  schema: string | undefined;
  replace: boolean;
}

class UsageError extends Error {}

/**
 * Runs `hearth secret put|delete|list|bulk|import`; resolves to the exit status (0 ok, 1 failure, 2 usage).
 * With `--cluster <url>` (or `HEARTH_CLUSTER` in `processEnv`) it works on the cluster's Postgres.
 * No value is ever written to `out` or `err`, and an argument after `put <NAME>` (a value typed on
 * the command line by mistake) is refused without being shown.
 *
 * @example
 * const status = await runSecretCommand(["put", "API_KEY"], {
 *   dataDir: ".hearth", stdin: process.stdin, isTTY: process.stdin.isTTY === true,
 *   out: (line) => console.log(line), err: (line) => console.error(line), processEnv: process.env,
 * });
 */
export async function runSecretCommand(argv: string[], io: SecretCommandIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    io.err(`error ${(error as Error).message}`);
    io.err("Run hearth secret --help for the commands.");
    return EXIT_USAGE;
  }
  if (args.help) {
    io.out(SECRET_USAGE);
    return 0;
  }
  const cwd = io.cwd ?? process.cwd();
  const dataDir = resolve(cwd, args.dataDir ?? io.dataDir);
  const envName = args.envName ?? io.envName;
  const keyEnv = io.processEnv[KEY_ENV_VAR];
  let close = async (): Promise<void> => {};
  try {
    const cluster = clusterOf(args, io.processEnv);
    if (args.replace && args.command !== "import") throw new UsageError("--replace is for import only");
    if (args.command === "import") return await importCommand(io, args, { dataDir, envName, keyEnv, cluster });
    const opened = await openCommandStore({ dataDir, envName: envName === "" ? undefined : envName, keyEnv, cluster }, io.clusterSecrets);
    close = opened.close;
    const { store, inCluster } = opened;
    const context: CommandContext = { io, store, dataDir, cwd, inCluster, where: describeEnv(store.envName, inCluster), configEnv: envName };
    switch (args.command) {
      case "put":
        return await put(context, onePositional(args, "put"));
      case "delete":
        return await remove(context, onePositional(args, "delete"));
      case "list":
        noPositionals(args, "list");
        io.out(JSON.stringify(store.list().map((name) => ({ name, type: "secret_text" })), null, 2));
        return 0;
      case "bulk":
        return await bulk(context, args);
      default:
        throw new UsageError(
          args.command === undefined ? "a command is required: put, delete, list, bulk or import" : `unknown command ${showName(args.command)}: use put, delete, list, bulk or import`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error ${error.message}`);
      io.err("Run hearth secret --help for the commands.");
      return EXIT_USAGE;
    }
    if (error instanceof PromptInterruptedError) {
      io.err("Cancelled; nothing was saved.");
      return 130;
    }
    // Store errors are written not to carry values; other errors (file system) carry paths only.
    io.err(`error ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  } finally {
    await close().catch(() => undefined);
  }
}

/** The cluster a command works on: `--cluster`, else a non-empty `HEARTH_CLUSTER`; undefined for the data directory. */
function clusterOf(args: ParsedArgs, processEnv: NodeJS.ProcessEnv): CommandCluster | undefined {
  const fromEnv = processEnv[CLUSTER_ENV_VAR]?.trim();
  const connectionString = args.cluster ?? (fromEnv === "" ? undefined : fromEnv);
  if (connectionString === undefined) {
    if (args.schema !== undefined) throw new UsageError("--schema names the cluster's Postgres schema: give --cluster <postgres-url> too");
    return undefined;
  }
  if (!/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new UsageError(`${args.cluster !== undefined ? "--cluster" : CLUSTER_ENV_VAR} must be a Postgres connection URL (postgres://user@host:5432/database)`);
  }
  return { connectionString, schema: args.schema };
}

async function importCommand(
  io: SecretCommandIo,
  args: ParsedArgs,
  options: { dataDir: string; envName: string | undefined; keyEnv: string | undefined; cluster: CommandCluster | undefined },
): Promise<number> {
  noPositionals(args, "import");
  if (options.cluster === undefined) throw new UsageError(`import copies the data directory's secrets into a cluster: give --cluster <postgres-url> or set ${CLUSTER_ENV_VAR}`);
  const envName = options.envName === "" ? undefined : options.envName;
  const result = await (await reachCluster(io.clusterSecrets)).importDataDir({ ...options, envName, cluster: options.cluster, replace: args.replace });
  for (const name of result.imported) io.out(`Imported secret ${name}`);
  for (const name of result.kept) io.out(`Kept secret ${name}: the cluster has it already (--replace overwrites it)`);
  io.out(`${count(result.imported.length, "secret")} imported, ${result.kept.length} kept, for ${describeEnv(envName, true)}.`);
  return 0;
}

interface CommandContext {
  io: SecretCommandIo;
  store: SecretStore;
  dataDir: string;
  cwd: string;
  /** The store is the cluster's: no key file is made or announced. */
  inCluster: boolean;
  where: string;
  /** The environment of the config whose names are refused. */
  configEnv: string | undefined;
}

async function put(context: CommandContext, name: string): Promise<number> {
  const { io, store, dataDir, inCluster, where } = context;
  // Checked before asking for the value, so a typo in the name or a wrong key does not cost typing the secret.
  store.has(name);
  if (refusedConfigNames(context, [name])) return EXIT_FAILURE;
  store.verifyKey();
  let value: string;
  if (io.isTTY) {
    io.err(`Enter the value of ${name} (input hidden), then press Enter:`);
    value = await readHiddenLine(io.stdin);
  } else {
    value = await readPipedValue(io.stdin);
  }
  if (value === "") {
    io.err(`error the value of ${name} is empty, so nothing was saved: pipe it on stdin (printf '%s' "$VALUE" | hearth secret put ${name}) or run in a terminal to be prompted`);
    return EXIT_FAILURE;
  }
  const createsKey = !inCluster && reportsNewKey(io, dataDir);
  const existed = store.has(name);
  await store.put(name, value);
  io.out(`${existed ? "Replaced" : "Saved"} secret ${name} for ${where}.`);
  if (createsKey && existsSync(keyFilePath(dataDir))) announceKeyFile(io, dataDir);
  return 0;
}

async function remove({ io, store, where }: CommandContext, name: string): Promise<number> {
  if (!(await store.delete(name))) {
    io.err(`error secret ${name} not found for ${where}`);
    return EXIT_FAILURE;
  }
  io.out(`Deleted secret ${name} for ${where}.`);
  return 0;
}

async function bulk(context: CommandContext, args: ParsedArgs): Promise<number> {
  const { io, store, dataDir, cwd, inCluster, where } = context;
  if (args.positionals.length > 1) throw new UsageError("bulk takes at most one argument, the file");
  const file = args.positionals[0];
  const text = file === undefined ? await readPipedValue(io.stdin) : readFileSync(resolve(cwd, file), "utf8");
  const changes = parseBulkInput(text, file ?? "stdin");
  // Deleting such a secret stays allowed: it is how a clash is undone.
  if (refusedConfigNames(context, changes.filter(([, value]) => value !== null).map(([name]) => name))) return EXIT_FAILURE;
  const createsKey = !inCluster && reportsNewKey(io, dataDir);
  const applied = await store.apply(changes);
  for (const name of applied.saved) io.out(`Saved secret ${name}`);
  for (const name of applied.deleted) io.out(`Deleted secret ${name}`);
  const deleted = new Set(applied.deleted);
  for (const [name, value] of changes) if (value === null && !deleted.has(name)) io.out(`Secret ${name} did not exist; nothing to delete`);
  io.out(`${count(applied.saved.length, "secret")} saved, ${applied.deleted.length} deleted, for ${where}.`);
  if (createsKey && existsSync(keyFilePath(dataDir))) announceKeyFile(io, dataDir);
  return 0;
}

/**
 * Refuses names the project's config gives to a var or a binding, as `wrangler secret put` does (the
 * secret would replace the var in `env`, or be hidden by the binding): an error line for each; true
 * when there was one. A config that cannot be read (being edited, or without that environment) is
 * reported, and does not stop the command.
 */
function refusedConfigNames({ io, configEnv }: CommandContext, names: string[]): boolean {
  const path = io.configPath;
  if (path === undefined || names.length === 0) return false;
  let config: ProjectConfig;
  try {
    config = loadProjectConfig({ path, envName: configEnv });
  } catch (error) {
    io.err(`warning the names were not checked against the config's vars and bindings: ${(error as Error).message}`);
    return false;
  }
  const clashes = secretNameClashes(names, config);
  for (const clash of clashes) io.err(`error ${secretPutClashMessage(clash, config)}`);
  return clashes.length > 0;
}

/** Whether a put may create the key file (no key yet): then the command says where it went. */
function reportsNewKey(io: SecretCommandIo, dataDir: string): boolean {
  const keyEnv = io.processEnv[KEY_ENV_VAR];
  return (keyEnv === undefined || keyEnv.trim() === "") && !existsSync(keyFilePath(dataDir));
}

function announceKeyFile(io: SecretCommandIo, dataDir: string): void {
  io.out(`Created the key ${keyFilePath(dataDir)} (mode 0600). Back it up: without it, or ${KEY_ENV_VAR}, these secrets cannot be read.`);
}

function describeEnv(envName: string | undefined, inCluster: boolean): string {
  const where = envName === undefined ? "the top-level environment" : `environment ${envName}`;
  return inCluster ? `${where} in the cluster` : where;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function onePositional(args: ParsedArgs, command: string): string {
  if (args.positionals.length === 0) throw new UsageError(`${command} needs the secret's name: hearth secret ${command} <NAME>`);
  if (args.positionals.length > 1) {
    // The extra word is often the value typed by mistake: it is neither used nor shown.
    throw new UsageError(`${command} takes one argument, the name${command === "put" ? "; the value is read from stdin or a prompt, never from the command line" : ""} (the extra arguments are not shown)`);
  }
  return args.positionals[0] as string;
}

function noPositionals(args: ParsedArgs, command: string): void {
  if (args.positionals.length > 0) throw new UsageError(`${command} takes no arguments (the extra arguments are not shown)`);
}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { help: false, command: undefined, positionals: [], envName: undefined, dataDir: undefined, cluster: undefined, schema: undefined, replace: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help") {
      parsed.help = true;
    } else if (arg === "--replace") {
      parsed.replace = true;
    } else if (arg === "--env" || arg === "-e" || arg === "--data" || arg === "--cluster" || arg === "--schema") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("-")) throw new UsageError(`${arg} needs a value`);
      setOption(parsed, arg, value);
    } else if (/^--(env|data|cluster|schema)=/.test(arg)) {
      const cut = arg.indexOf("=");
      setOption(parsed, arg.slice(0, cut), arg.slice(cut + 1));
    } else if (arg.startsWith("-") && arg !== "-") {
      // Only the option's name is shown: `--value=…` must not print what follows the "=".
      throw new UsageError(`unknown option ${showName(arg.split("=")[0] as string)}`);
    } else if (parsed.command === undefined) {
      parsed.command = arg;
    } else {
      parsed.positionals.push(arg);
    }
  }
  return parsed;
}

function setOption(parsed: ParsedArgs, option: string, value: string): void {
  if (option === "--data") parsed.dataDir = value;
  else if (option === "--cluster") parsed.cluster = value;
  else if (option === "--schema") parsed.schema = value;
  else parsed.envName = value;
}
