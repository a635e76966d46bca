import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * Tables whose rows a SQLite changeset cannot carry: ordinary tables (and virtual tables' shadow
 * tables) with no declared PRIMARY KEY. The session extension records only rows it can address by a
 * declared key, so a rowid table without one would silently stay behind on every other node.
 *
 * Left out on purpose: SQLite's own `sqlite_*` tables (`sqlite_sequence` follows the rows applied to
 * an AUTOINCREMENT table; `sqlite_stat1` is statistics), and virtual tables themselves, which store
 * nothing: FTS5, FTS3/4 and R*Tree keep their rows in shadow tables, which all have a key and are
 * checked like any table; a virtual table over outside data (a table-valued function, a CSV) has no
 * rows of its own to replicate.
 */
const UNKEYED_TABLES = `
  SELECT list.name AS name FROM pragma_table_list AS list
  WHERE list.schema = 'main' AND list.type IN ('table', 'shadow') AND list.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
    AND NOT EXISTS (SELECT 1 FROM pragma_table_info(list.name, 'main') AS col WHERE col.pk > 0)
  ORDER BY list.name`;

/** Prepared once per connection (the check runs at a connection's first write and at each schema change). */
export class SchemaRules {
  readonly #unkeyed: StatementSync;

  constructor(db: DatabaseSync) {
    this.#unkeyed = db.prepare(UNKEYED_TABLES);
  }

  /** Throws {@link UnreplicableSchemaError} naming every table without a PRIMARY KEY. */
  assertReplicable(): void {
    const names = this.#unkeyed.all().map((row) => String(row.name));
    if (names.length > 0) throw new UnreplicableSchemaError(names);
  }
}

/** A schema change would create (or keep) tables whose rows cannot be replicated: the commit is refused. */
export class UnreplicableSchemaError extends Error {
  readonly tables: readonly string[];
  constructor(tables: readonly string[]) {
    const list = tables.map((name) => JSON.stringify(name)).join(", ");
    super(
      `${tables.length === 1 ? "Table" : "Tables"} ${list} ${tables.length === 1 ? "has" : "have"} no PRIMARY KEY: ` +
        "in a cluster an agent's rows are replicated as SQLite changesets, which carry only rows of tables " +
        'with a declared primary key. Declare one (e.g. "id INTEGER PRIMARY KEY", or a PRIMARY KEY on ' +
        "the columns that identify a row); the transaction was rolled back.",
    );
    this.name = "UnreplicableSchemaError";
    this.tables = tables;
  }
}
