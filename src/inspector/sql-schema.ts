/**
 * An agent database's schema and paged table rows, for the inspector's SQL tab. Runs inside the
 * agent (its event), reading its own connection.
 */
import type { AgentDatabase } from "../storage/database.ts";
import { notFound } from "./http.ts";
import { cell, isFrameworkTable } from "./sql-console.ts";
import { readingArrays } from "../storage/sql.ts";

/** One table or view. */
export interface TableInfo {
  name: string;
  kind: "table" | "view";
  framework: boolean;
  /** Row count (null for a view: counting one may run any query). */
  rows: number | null;
  columns: Array<{ name: string; type: string; pk: boolean; notnull: boolean }>;
  indexes: Array<{ name: string; unique: boolean; columns: string[] }>;
}

/** Every table and view (SQLite's own excepted), the agent's own first. */
export function readSchema(db: AgentDatabase): { tables: TableInfo[] } {
  const objects = db.statement("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string; type: "table" | "view" }>;
  const tables = objects.map((object): TableInfo => {
    const quoted = quote(object.name);
    const columns = (db.statement(`SELECT name, type, pk, "notnull" FROM pragma_table_info(?)`).all(object.name) as Array<Record<string, unknown>>).map((column) => ({
      name: String(column.name),
      type: String(column.type),
      pk: Number(column.pk) > 0,
      notnull: Number(column.notnull) === 1,
    }));
    const indexes = (db.statement(`SELECT name, "unique" FROM pragma_index_list(?)`).all(object.name) as Array<Record<string, unknown>>).map((index) => ({
      name: String(index.name),
      unique: Number(index.unique) === 1,
      columns: (db.statement("SELECT name FROM pragma_index_info(?) ORDER BY seqno").all(String(index.name)) as Array<{ name: string | null }>).map((c) => c.name ?? "(expression)"),
    }));
    const rows = object.type === "table" ? Number((db.statement(`SELECT count(*) AS n FROM ${quoted}`).get() as { n: number }).n) : null;
    return { name: object.name, kind: object.type, framework: isFrameworkTable(object.name), rows, columns, indexes };
  });
  tables.sort((a, b) => Number(a.framework) - Number(b.framework) || a.name.localeCompare(b.name));
  return { tables };
}

/** One page of a table's rows (in storage order). */
export function readTablePage(db: AgentDatabase, table: string, offset: number, limit: number): { columns: string[]; rows: unknown[][]; nextOffset: number | null } {
  const known = db.statement("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(table);
  if (!known) throw notFound(`The agent's database has no table or view ${JSON.stringify(table)}`);
  const statement = db.statement(`SELECT * FROM ${quote(table)} LIMIT ? OFFSET ?`);
  const columns = statement.columns().map((column) => column.name);
  const found = readingArrays(statement, () => statement.all(limit + 1, offset) as unknown as unknown[][]); // a view may name two columns alike
  const rows = found.slice(0, limit).map((row) => row.map(cell));
  return { columns, rows, nextOffset: found.length > limit ? offset + limit : null };
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
