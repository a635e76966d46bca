/**
 * The schema cache keeps what it read across statements that can only add to the schema (the
 * `CREATE TABLE IF NOT EXISTS` many agents run at every start or request), and reads sqlite_master
 * again exactly when an answer may have changed.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SchemaCache } from "../../src/storage/schema-cache.ts";
import { splitStatements } from "../../src/storage/split-statements.ts";

/** A database with a state table and a cache that counts its reads of the schema. */
function setUp() {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL)");
  const schema = new SchemaCache();
  const counter = { reads: 0 };
  const connection = () => {
    counter.reads++;
    return db;
  };
  /** Runs `sql` and tells the cache, as AgentDatabase does. */
  const run = (sql: string) => {
    schema.changed(sql);
    db.exec(sql);
  };
  return { db, schema, counter, connection, run };
}

describe("SchemaCache", () => {
  it("answers without reading again after a CREATE that does not name the table asked about", () => {
    const { schema, counter, connection, run } = setUp();
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(schema.stateTableHasTriggers(connection)).toBe(false);
    expect(counter.reads).toBe(1);
    run("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
    run("CREATE INDEX IF NOT EXISTS notes_text ON notes (text)");
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(schema.hasTable(connection, "_hearth_state")).toBe(true);
    expect(schema.stateTableHasTriggers(connection)).toBe(false);
    expect(counter.reads).toBe(1);
    // The new table itself is named by the statement: read again.
    expect(schema.hasTable(connection, "notes")).toBe(true);
    expect(counter.reads).toBe(2);
  });

  it("reads again for a table a CREATE names, quoted or in other case", () => {
    const { schema, connection, run } = setUp();
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    run('CREATE TABLE "_HEARTH_FIBERS" (x)');
    expect(schema.hasTable(connection, "_HEARTH_FIBERS")).toBe(true);
  });

  it("forgets after a virtual table, whose shadow tables its text does not name", () => {
    const { schema, connection, run } = setUp();
    expect(schema.hasTable(connection, "docs_data")).toBe(false);
    run("CREATE VIRTUAL TABLE docs USING fts5(body)");
    expect(schema.hasTable(connection, "docs_data")).toBe(true);
  });

  it("reads the triggers again after a CREATE that names the state table, not after one that does not", () => {
    const { schema, counter, connection, run } = setUp();
    run("CREATE TABLE notes (body TEXT)");
    expect(schema.stateTableHasTriggers(connection)).toBe(false);
    const reads = counter.reads;
    run("CREATE TRIGGER notes_count AFTER INSERT ON notes BEGIN SELECT 1; END");
    expect(schema.stateTableHasTriggers(connection)).toBe(false);
    expect(counter.reads).toBe(reads);
    run("CREATE TRIGGER notes_to_state AFTER INSERT ON notes BEGIN INSERT OR REPLACE INTO _hearth_state (chunk, data) VALUES (1, 'x'); END");
    expect(schema.stateTableHasTriggers(connection)).toBe(true);
  });

  it("forgets after a DROP or an ALTER", () => {
    const { schema, connection, run } = setUp();
    run("CREATE TABLE notes (body TEXT)");
    expect(schema.hasTable(connection, "notes")).toBe(true);
    run("/* gone */ DROP TABLE notes");
    expect(schema.hasTable(connection, "notes")).toBe(false);
    run("CREATE TABLE a (x)");
    expect(schema.hasTable(connection, "a")).toBe(true);
    run("ALTER TABLE a RENAME TO b");
    expect(schema.hasTable(connection, "a")).toBe(false);
    expect(schema.hasTable(connection, "b")).toBe(true);
  });

  it("reads again once it has remembered many additions", () => {
    const { schema, counter, connection, run } = setUp();
    schema.hasTable(connection, "_hearth_fibers");
    for (let i = 0; i < 16; i++) run(`CREATE TABLE t${i} (x)`);
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(counter.reads).toBe(1);
    run("CREATE TABLE t16 (x)");
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(counter.reads).toBe(2);
  });

  it("keeps what it knows across a script of CREATE statements only", () => {
    const { db, schema, counter, connection } = setUp();
    schema.hasTable(connection, "_hearth_fibers");
    const script = "CREATE TABLE a (x); CREATE INDEX a_x ON a (x)";
    db.exec(script);
    schema.scriptRan(splitStatements(script));
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(counter.reads).toBe(1);
    const other = "CREATE TABLE c (x); INSERT INTO c VALUES (1)";
    db.exec(other);
    schema.scriptRan(splitStatements(other));
    expect(schema.hasTable(connection, "_hearth_fibers")).toBe(false);
    expect(counter.reads).toBe(2);
  });
});
