import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EXIT_FAILURE, EXIT_USAGE } from "../cli/errors.ts";
import { parseBulkInput } from "./bulk.ts";
import { showName } from "./errors.ts";
import { KEY_ENV_VAR, keyFilePath } from "./key.ts";
import { PromptInterruptedError, readHiddenLine, readPipedValue } from "./read-value.ts";
import { openSecretStore, type SecretStore } from "./store.ts";

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
  /** Where `HEARTH_SECRET_KEY` is read from. */
  processEnv: NodeJS.ProcessEnv;
  /** Resolves a relative `bulk` file; default `process.cwd()`. */
  cwd?: string;
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

Options:
  --env <name>   The environment whose secrets to change (each has its own)
  --data <dir>   The data directory (default .hearth)
  -h, --help     Show this help

Secrets are encrypted with ${KEY_ENV_VAR} (32 bytes, hex or base64) when it is set,
else with <data>/secret.key, created with mode 0600 on the first put.
Values are never printed.`;

interface ParsedArgs {
  help: boolean;
  command: string | undefined;
  positionals: string[];
  envName: string | undefined;
  dataDir: string | undefined;
}

class UsageError extends Error {}

/**
 * Runs `hearth secret put|delete|list|bulk`; resolves to the exit status (0 ok, 1 failure, 2 usage).
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
  try {
    const store = openSecretStore({ dataDir, envName, keyEnv: io.processEnv[KEY_ENV_VAR] });
    const context: CommandContext = { io, store, dataDir, cwd, where: describeEnv(store.envName) };
    switch (args.command) {
      case "put":
        return await put(context, onePositional(args, "put"));
      case "delete":
        return remove(context, onePositional(args, "delete"));
      case "list":
        noPositionals(args, "list");
        io.out(JSON.stringify(store.list().map((name) => ({ name, type: "secret_text" })), null, 2));
        return 0;
      case "bulk":
        return await bulk(context, args);
      default:
        throw new UsageError(args.command === undefined ? "a command is required: put, delete, list or bulk" : `unknown command ${showName(args.command)}: use put, delete, list or bulk`);
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
  }
}

interface CommandContext {
  io: SecretCommandIo;
  store: SecretStore;
  dataDir: string;
  cwd: string;
  where: string;
}

async function put({ io, store, dataDir, where }: CommandContext, name: string): Promise<number> {
  // Checked before asking for the value, so a typo in the name or a wrong key does not cost typing the secret.
  store.has(name);
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
  const createsKey = reportsNewKey(io, dataDir);
  const existed = store.has(name);
  store.put(name, value);
  io.out(`${existed ? "Replaced" : "Saved"} secret ${name} for ${where}.`);
  if (createsKey && existsSync(keyFilePath(dataDir))) announceKeyFile(io, dataDir);
  return 0;
}

function remove({ io, store, where }: CommandContext, name: string): number {
  if (!store.delete(name)) {
    io.err(`error secret ${name} not found for ${where}`);
    return EXIT_FAILURE;
  }
  io.out(`Deleted secret ${name} for ${where}.`);
  return 0;
}

async function bulk({ io, store, dataDir, cwd, where }: CommandContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 1) throw new UsageError("bulk takes at most one argument, the file");
  const file = args.positionals[0];
  const text = file === undefined ? await readPipedValue(io.stdin) : readFileSync(resolve(cwd, file), "utf8");
  const changes = parseBulkInput(text, file ?? "stdin");
  const createsKey = reportsNewKey(io, dataDir);
  const applied = store.apply(changes);
  for (const name of applied.saved) io.out(`Saved secret ${name}`);
  for (const name of applied.deleted) io.out(`Deleted secret ${name}`);
  const deleted = new Set(applied.deleted);
  for (const [name, value] of changes) if (value === null && !deleted.has(name)) io.out(`Secret ${name} did not exist; nothing to delete`);
  io.out(`${count(applied.saved.length, "secret")} saved, ${applied.deleted.length} deleted, for ${where}.`);
  if (createsKey && existsSync(keyFilePath(dataDir))) announceKeyFile(io, dataDir);
  return 0;
}

/** Whether a put may create the key file (no key yet): then the command says where it went. */
function reportsNewKey(io: SecretCommandIo, dataDir: string): boolean {
  const keyEnv = io.processEnv[KEY_ENV_VAR];
  return (keyEnv === undefined || keyEnv.trim() === "") && !existsSync(keyFilePath(dataDir));
}

function announceKeyFile(io: SecretCommandIo, dataDir: string): void {
  io.out(`Created the key ${keyFilePath(dataDir)} (mode 0600). Back it up: without it, or ${KEY_ENV_VAR}, these secrets cannot be read.`);
}

function describeEnv(envName: string | undefined): string {
  return envName === undefined ? "the top-level environment" : `environment ${envName}`;
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
  const parsed: ParsedArgs = { help: false, command: undefined, positionals: [], envName: undefined, dataDir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help") {
      parsed.help = true;
    } else if (arg === "--env" || arg === "-e" || arg === "--data") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("-")) throw new UsageError(`${arg} needs a value`);
      if (arg === "--data") parsed.dataDir = value;
      else parsed.envName = value;
    } else if (arg.startsWith("--env=")) {
      parsed.envName = arg.slice("--env=".length);
    } else if (arg.startsWith("--data=")) {
      parsed.dataDir = arg.slice("--data=".length);
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
