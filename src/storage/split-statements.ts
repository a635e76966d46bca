import { scanStatements } from "./sql-text.ts";

/**
 * Splits a script into statements at top-level semicolons, skipping quoted text, comments and
 * trigger bodies (`CREATE TRIGGER … BEGIN …; …; END`, `CASE … END` inside them included).
 * node:sqlite's prepare() silently ignores everything after the first statement, so multi-statement
 * `exec` needs this. Comment-only pieces are dropped.
 */
export function splitStatements(script: string): string[] {
  return scanStatements(script).map((statement) => statement.text);
}
