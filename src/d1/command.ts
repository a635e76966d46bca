import { parseArgs } from "node:util";
import { D1CommandError, type D1CommandContext } from "./command-context.ts";
import { executeCommand } from "./command-execute.ts";
import { migrationsCommand } from "./command-migrations.ts";

export type { D1CommandContext, D1CommandFlags } from "./command-context.ts";

export const D1_USAGE = `Usage: hearth d1 <command> <database> [options]

Commands:
  execute <database> --command "<sql>"   Run SQL (several statements allowed, one transaction)
  execute <database> --file <path>       Run the SQL of a file
  migrations create <database> <message> Write <migrations_dir>/NNNN_<message>.sql (the next number)
  migrations list <database>             List migrations not applied yet
  migrations apply <database>            Apply them in order, each in a transaction, recorded in migrations_table

<database> is a d1_databases binding or database_name of the wrangler config.
Options:
  --json          execute: print the results as JSON
  --local         Accepted: Hearth's databases are local (<data dir>/d1/<database_name>.sqlite)
  --remote        Refused: Hearth has no Cloudflare account behind it
  -y, --yes       Accepted (Hearth does not ask for confirmation)
  --env <name>    The wrangler environment (read by the CLI)
`;

/**
 * `hearth d1 execute|migrations …`, like wrangler's `d1` commands against the local database.
 * Returns the exit code (0 success, 1 failure); every message goes through `context.out`.
 * @example
 * const code = await runD1Command(["execute", "DB", "--command", "SELECT 1"], { databases, dataDir: ".hearth", cwd: process.cwd(), out: console.log });
 */
export async function runD1Command(argv: string[], context: D1CommandContext): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: joinValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        command: { type: "string" },
        file: { type: "string" },
        json: { type: "boolean" },
        local: { type: "boolean" },
        remote: { type: "boolean" },
        preview: { type: "boolean" },
        yes: { type: "boolean", short: "y" },
        env: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [subcommand, ...rest] = positionals;
    if (values.help || subcommand === undefined || subcommand === "help") {
      for (const line of D1_USAGE.trimEnd().split("\n")) context.out(line);
      return values.help || subcommand === "help" ? 0 : 1;
    }
    if (values.remote) {
      throw new D1CommandError("--remote is not available: Hearth's D1 databases are local files; drop --remote (use wrangler for a database on Cloudflare).");
    }
    if (values.preview) throw new D1CommandError("--preview is not available: Hearth has no preview databases; drop --preview.");
    if (subcommand === "execute") return await executeCommand(rest, values, context);
    if (subcommand === "migrations") return await migrationsCommand(rest, context);
    throw new D1CommandError(`Unknown command "d1 ${subcommand}": use execute or migrations (hearth d1 --help).`);
  } catch (error) {
    context.out(`✘ ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** `--command "-- note\nSELECT 1"`: SQL may start with a dash, which parseArgs would take for an option. */
function joinValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === "--command" || arg === "--file") && i + 1 < argv.length) out.push(`${arg}=${argv[++i]!}`);
    else out.push(arg);
  }
  return out;
}
