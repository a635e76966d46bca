/**
 * An agent database's schema and paged table rows, for the inspector's SQL tab. Runs inside the
 * agent (its event), reading its own connection.
 */
import type { AgentDatabase } from "../storage/database.ts";
import { boundingQuery, preparedOnce, readBoundedRows } from "./bounded-rows.ts";
import { notFound } from "./http.ts";
import { isFrameworkTable } from "./sql-console.ts";

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

/**
 * One page of a table's rows (in storage order), its cells cut as the SQL console cuts them; a page
 * that reaches the console's byte budget ends there (the next one starts after it).
 */
export function readTablePage(db: AgentDatabase, table: string, offset: number, limit: number): { columns: string[]; rows: unknown[][]; nextOffset: number | null } {
  const known = db.statement("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(table);
  if (!known) throw notFound(`The agent's database has no table or view ${JSON.stringify(table)}`);
  const query = `SELECT * FROM ${quote(table)} LIMIT ? OFFSET ?`;
  const columns = db.statement(query).columns().map((column) => column.name); // a view may name two columns alike: cells stay in order
  const page = readBoundedRows(preparedOnce(db, boundingQuery(query, columns.length)), [limit + 1, offset], columns.length, limit);
  return { columns, rows: page.rows, nextOffset: page.truncated ? offset + page.rows.length : null };
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
