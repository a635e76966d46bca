import { resolve } from "node:path";
import { runSecretCommand } from "../secrets/command.ts";
import { DEFAULTS } from "./args.ts";
import { printError } from "./output.ts";

/** A subcommand that is not a server: `hearth secret …`, `hearth d1 …`. Resolves to the exit status. */
export type Tool = (argv: string[], cwd: string) => Promise<number>;

function dataDirOf(cwd: string): string {
  const fromEnv = process.env.HEARTH_DATA_DIR;
  return resolve(cwd, fromEnv !== undefined && fromEnv.trim() !== "" ? fromEnv : DEFAULTS.dataDir);
}

/** The subcommands by name. */
export const TOOLS: Record<string, Tool> = {
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
