import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(): AgentDatabase {
  const dir = mkdtempSync(join(tmpdir(), "hearth-has-table-"));
  dirs.push(dir);
  return new AgentDatabase({ path: join(dir, "a.sqlite"), durability: "relaxed", identity: "t/a", currentOwner: () => undefined });
}

describe("AgentDatabase.hasTable", () => {
  it("sees tables created or dropped by scripts and statements, and forgets ones a rollback removed", () => {
    const db = open();
    expect(db.hasTable("notes")).toBe(false);
    db.execScript("CREATE TABLE notes (text TEXT)");
    expect(db.hasTable("notes")).toBe(true);
    db.statement("/* a comment */ DROP TABLE notes").run();
    expect(db.hasTable("notes")).toBe(false);
    // The same cached statement run again still counts as a schema change.
    const create = db.statement("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
    create.run();
    expect(db.hasTable("notes")).toBe(true);
    db.statement("DROP TABLE notes").run();
    expect(db.hasTable("notes")).toBe(false);
    db.statement("CREATE TABLE IF NOT EXISTS notes (text TEXT)").run();
    expect(db.hasTable("notes")).toBe(true);
    // What SQLite skips before a statement (empty statements, comments) does not hide the change.
    db.statement("; -- gone\n DROP TABLE notes").run();
    expect(db.hasTable("notes")).toBe(false);
    db.statement("CREATE TABLE IF NOT EXISTS notes (text TEXT)").run();
    expect(db.hasTable("notes")).toBe(true);

    expect(() =>
      db.transactionSync(() => {
        db.execScript("CREATE TABLE brief (x INTEGER)");
        expect(db.hasTable("brief")).toBe(true);
        throw new Error("undo");
      }),
    ).toThrow("undo");
    expect(db.hasTable("brief")).toBe(false);
    db.close();
  });
});
