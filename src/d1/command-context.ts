import { resolve } from "node:path";
import type { D1DatabaseConfig } from "../config/types.ts";
import type { D1Database } from "./database.ts";
import { d1DatabasePath } from "./paths.ts";
import { openD1Database } from "./registry.ts";

/** What `hearth d1 …` needs from the CLI: the project's D1 databases (resolved for the environment) and where data lives. */
export interface D1CommandContext {
  databases: D1DatabaseConfig[];
  /** The data directory (relative paths resolve against `cwd`). */
  dataDir: string;
  /** Where relative paths of the command line (`--file`) resolve: the shell's working directory, as in wrangler. */
  cwd: string;
  /** Prints one line. */
  out: (line: string) => void;
}

/** Parsed flags shared by the subcommands. */
export interface D1CommandFlags {
  command?: string | undefined;
  file?: string | undefined;
  json?: boolean | undefined;
}

/** A mistake in the command line or the project: printed as one line, exit code 1. */
export class D1CommandError extends Error {}

/** The database named by binding or database_name, or an error listing the ones that exist. */
export function findDatabase(context: D1CommandContext, name: string | undefined): D1DatabaseConfig {
  if (name === undefined) throw new D1CommandError("Name the database: its binding or database_name (hearth d1 --help).");
  const found = context.databases.find((database) => database.binding === name || database.databaseName === name);
  if (found !== undefined) return found;
  const known = context.databases.map((database) => database.binding === database.databaseName ? database.binding : `${database.binding} (${database.databaseName})`);
  throw new D1CommandError(
    `Couldn't find a D1 DB with the name or binding '${name}' in the wrangler config` +
      (known.length > 0 ? `; d1_databases has: ${known.join(", ")}.` : "; it declares no d1_databases."),
  );
}

/** Opens the database's local file for the length of `fn`. */
export async function withDatabase<T>(context: D1CommandContext, config: D1DatabaseConfig, fn: (db: D1Database, path: string) => Promise<T>): Promise<T> {
  const path = d1DatabasePath(resolve(context.cwd, context.dataDir), config.databaseName);
  const db = openD1Database(path);
  try {
    return await fn(db, path);
  } finally {
    db.close();
  }
}
