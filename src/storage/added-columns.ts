import type { SqlTag } from "./sql.ts";

/** A column added to a table after the table was first made. */
export interface AddedColumn {
  readonly table: string;
  readonly column: string;
  readonly type: string;
}

/**
 * Adds to an older file's tables the columns made since (tables are created with `IF NOT EXISTS`, so
 * a table from an earlier version keeps its old shape until this runs).
 * @example addMissingColumns([{ table: "t", column: "note", type: "TEXT" }], this.sql, (script) => db.execScript(script));
 */
export function addMissingColumns(columns: readonly AddedColumn[], sql: SqlTag, execScript: (script: string) => void): void {
  for (const { table, column, type } of columns) {
    if (sql`SELECT 1 FROM pragma_table_info(${table}) WHERE name = ${column}`.length === 0) execScript(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}
