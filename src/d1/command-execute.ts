import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { D1CommandError, findDatabase, withDatabase, type D1CommandContext, type D1CommandFlags } from "./command-context.ts";
import { scanStatements } from "../storage/sql-text.ts";
import { formatTable } from "./table.ts";

/** `hearth d1 execute <db> --command "<sql>" | --file <path> [--json]`: every statement, one transaction. */
export async function executeCommand(args: string[], flags: D1CommandFlags, context: D1CommandContext): Promise<number> {
  const [name, extra] = args;
  const config = findDatabase(context, name);
  if (extra !== undefined) throw new D1CommandError(`Unexpected argument "${extra}": quote the SQL and pass it with --command.`);
  if ((flags.command === undefined) === (flags.file === undefined)) {
    throw new D1CommandError('Give the SQL with --command "<sql>" or --file <path> (one of them).');
  }
  const sql = flags.command ?? readSqlFile(resolve(context.cwd, flags.file!));
  const statements = scanStatements(sql);
  if (statements.length === 0) throw new D1CommandError("No SQL statements detected.");
  return withDatabase(context, config, async (db, path) => {
    let results;
    try {
      results = await db.batch(statements.map((statement) => db.prepare(statement.text)));
    } catch (error) {
      if (!flags.json) throw error;
      context.out(JSON.stringify({ error: { text: (error as Error).message } }, null, 2));
      return 1;
    }
    if (flags.json) {
      context.out(JSON.stringify(results, null, 2));
      return 0;
    }
    context.out(`Executing on local database ${config.databaseName} (${path}):`);
    for (const result of results) {
      const rows = result.results as Record<string, unknown>[];
      if (rows.length === 0) continue;
      const columns = Object.keys(rows[0]!);
      for (const line of formatTable(columns, rows.map((row) => columns.map((column) => row[column])))) context.out(line);
    }
    const changes = results.reduce((sum, result) => sum + result.meta.changes, 0);
    context.out(`${statements.length} command${statements.length === 1 ? "" : "s"} executed successfully (${changes} row${changes === 1 ? "" : "s"} changed).`);
    return 0;
  });
}

function readSqlFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new D1CommandError(`Cannot read the SQL file ${path}: ${(error as Error).message}`);
  }
}
