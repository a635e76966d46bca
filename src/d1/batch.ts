import { d1Error } from "./errors.ts";
import type { D1Backend } from "./backend.ts";
import { D1PreparedStatement, toResult } from "./statement.ts";
import type { D1Result } from "./types.ts";

/** Runs prepared statements as one D1 batch (one transaction) and shapes the results. */
export async function runBatch<T>(backend: D1Backend, statements: readonly D1PreparedStatement[]): Promise<D1Result<T>[]> {
  if (!Array.isArray(statements) || !statements.every((statement) => statement instanceof D1PreparedStatement)) {
    throw d1Error("D1_ERROR", "batch() takes an array of prepared statements (db.prepare(sql).bind(...))");
  }
  const outputs = await backend.batch(statements.map((statement) => ({ sql: statement.statement, params: statement.params })));
  return outputs.map((output) => toResult<T>(output));
}
