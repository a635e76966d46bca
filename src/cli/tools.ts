import { resolve } from "node:path";
import { findWranglerConfig, loadProjectConfig } from "../config/index.ts";
import { D1_USAGE, runD1Command } from "../d1/index.ts";
import { runSecretCommand } from "../secrets/command.ts";
import { DEFAULTS } from "./args.ts";
import { printError } from "./output.ts";
import { environmentDataDir } from "./project.ts";

/** A subcommand that is not a server: `hearth secret …`, `hearth d1 …`. Resolves to the exit status. */
export type Tool = (argv: string[], cwd: string) => Promise<number>;

function dataDirOf(cwd: string): string {
  const fromEnv = process.env.HEARTH_DATA_DIR;
  return resolve(cwd, fromEnv !== undefined && fromEnv.trim() !== "" ? fromEnv : DEFAULTS.dataDir);
}

/** Takes `--env <name>`, `--config <path>` and `--data <dir>` (and their `=` forms) out of `argv`. */
function projectFlags(argv: string[]): { rest: string[]; env?: string; config?: string; data?: string } {
  const rest: string[] = [];
  const found: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    const match = /^--(env|config|data)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++index];
    if (value === undefined || value === "") throw new Error(`--${match[1]} needs a value`);
    found[match[1] ?? ""] = value;
  }
  return { rest, ...found };
}

async function d1(argv: string[], cwd: string): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(D1_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  let flags;
  let config;
  try {
    flags = projectFlags(argv);
    const path = flags.config !== undefined ? resolve(cwd, flags.config) : findWranglerConfig(cwd);
    if (path === undefined) throw new Error(`hearth d1 reads d1_databases from a wrangler config; none in ${cwd} (use --config <path>).`);
    config = loadProjectConfig({ path, envName: flags.env });
  } catch (error) {
    printError((error as Error).message);
    return 1;
  }
  const base = flags.data !== undefined ? resolve(cwd, flags.data) : dataDirOf(cwd);
  const dataDir = environmentDataDir(base, flags.env);
  return runD1Command(flags.rest, { databases: config.d1Databases, dataDir, cwd: config.dir, out: (line) => process.stdout.write(`${line}\n`) });
}

/** The subcommands by name. */
export const TOOLS: Record<string, Tool> = {
  d1,
  secret: (argv, cwd) =>
    runSecretCommand(argv, {
      dataDir: dataDirOf(cwd),
      stdin: process.stdin,
      isTTY: process.stdin.isTTY === true,
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => (line.startsWith("error ") ? printError(line.slice("error ".length)) : process.stderr.write(`${line}\n`)),
      processEnv: process.env,
      cwd,
    }),
};
