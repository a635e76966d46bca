import { d1Error } from "./errors.ts";
import type { D1Engine } from "./engine.ts";
import { D1PreparedStatement, toResult } from "./statement.ts";
import type { D1Result } from "./types.ts";

/** Runs prepared statements as one D1 batch (one transaction) and shapes the results. */
export function runBatch<T>(engine: D1Engine, statements: readonly D1PreparedStatement[]): D1Result<T>[] {
  if (!Array.isArray(statements) || !statements.every((statement) => statement instanceof D1PreparedStatement)) {
    throw d1Error("D1_ERROR", "batch() takes an array of prepared statements (db.prepare(sql).bind(...))");
  }
  const outputs = engine.batch(statements.map((statement) => ({ sql: statement.statement, params: statement.params })));
  return outputs.map((output) => toResult<T>(output));
}
