import { describe, expect, it } from "vitest";
import { d1TestDirs, errorOf } from "./helpers.ts";

const { open } = d1TestDirs();

async function notesDb() {
  const db = open();
  await db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  await db.prepare("INSERT INTO notes (body) VALUES (?)").bind("kept").run();
  return db;
}

async function bodies(db: Awaited<ReturnType<typeof notesDb>>): Promise<string[]> {
  return (await db.prepare("SELECT body FROM notes ORDER BY id").raw<[string]>()).map((row) => row[0]);
}

describe("batch", () => {
  it("runs the statements in order and returns their results in order", async () => {
    const db = await notesDb();
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    const results = await db.batch([insert.bind("a"), insert.bind("b"), db.prepare("SELECT body FROM notes ORDER BY id")]);
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ success: true, results: [] });
    expect(results[0]!.meta.last_row_id).toBe(2);
    expect(results[1]!.meta.last_row_id).toBe(3);
    expect(results[2]!.results).toEqual([{ body: "kept" }, { body: "a" }, { body: "b" }]);
  });

  it("is all or nothing: a failing statement rolls back the batch and earlier data stays", async () => {
    const db = await notesDb();
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    const error = await errorOf(db.batch([insert.bind("lost 1"), insert.bind("lost 2"), insert.bind(null)]));
    expect(error.message).toBe("D1_ERROR: NOT NULL constraint failed: notes.body: SQLITE_CONSTRAINT");
    expect((error.cause as Error).message).toBe("NOT NULL constraint failed: notes.body: SQLITE_CONSTRAINT");
    expect(await bodies(db)).toEqual(["kept"]);
  });

  it("checks every statement before running any (a bad one stores nothing)", async () => {
    const db = await notesDb();
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    const error = await errorOf(db.batch([insert.bind("lost"), db.prepare("INSERT INTO notes (body) VALUES (?, ?)").bind("x")]));
    expect(error.message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
    expect(await bodies(db)).toEqual(["kept"]);
  });

  it("refuses an empty batch and things that are not statements", async () => {
    const db = open();
    expect((await errorOf(db.batch([]))).message).toBe("D1_ERROR: No SQL statements detected.");
    const notStatements = [{ statement: "SELECT 1", params: [] }] as unknown as Parameters<typeof db.batch>[0];
    expect((await errorOf(db.batch(notStatements))).message).toMatch(/^D1_ERROR: batch\(\) takes an array of prepared statements/);
  });

  it("accepts statements prepared on a session and vice versa (only the text and values travel)", async () => {
    const db = await notesDb();
    const session = db.withSession();
    const [result] = await db.batch([session.prepare("SELECT count(*) AS n FROM notes")]);
    expect(result!.results).toEqual([{ n: 1 }]);
  });
});

describe("exec", () => {
  it("splits on newlines, runs each line and reports the count", async () => {
    const db = open();
    const result = await db.exec("\nCREATE TABLE a (v)\nINSERT INTO a VALUES (1); INSERT INTO a VALUES (2)\n\n-- a comment\nINSERT INTO a VALUES (3)\n");
    expect(result.count).toBe(3);
    expect(result.duration).toBeGreaterThanOrEqual(0);
    expect(await db.prepare("SELECT count(*) AS n FROM a").first("n")).toBe(3);
  });

  it("names the failing line, and rolls back the lines before it", async () => {
    const db = await notesDb();
    const error = await errorOf(db.exec("INSERT INTO notes (body) VALUES ('lost')\nINSERT INTO nope VALUES (1)\nINSERT INTO notes (body) VALUES ('never')"));
    expect(error.message).toBe("D1_EXEC_ERROR: Error in line 2: INSERT INTO nope VALUES (1): no such table: nope: SQLITE_ERROR");
    expect((error.cause as Error).message).toBe("Error in line 2: INSERT INTO nope VALUES (1): no such table: nope: SQLITE_ERROR");
    expect(await bodies(db)).toEqual(["kept"]);
  });

  it("does not let a statement span lines, as on D1", async () => {
    const db = open();
    const error = await errorOf(db.exec("CREATE TABLE t (\n  v TEXT\n)"));
    expect(error.message).toBe('D1_EXEC_ERROR: Error in line 1: CREATE TABLE t (: incomplete input: SQLITE_ERROR');
  });

  it("takes no parameters and no transaction control", async () => {
    const db = open();
    expect((await errorOf(db.exec("SELECT ?"))).message).toBe("D1_EXEC_ERROR: Error in line 1: SELECT ?: Wrong number of parameter bindings for SQL query.");
    expect((await errorOf(db.exec("SELECT 1\nBEGIN"))).message).toMatch(/^D1_EXEC_ERROR: Error in line 2: BEGIN: BEGIN is not supported/);
    expect((await errorOf(db.exec(""))).message).toBe("D1_EXEC_ERROR: Error in line 1: : No SQL statements detected.");
  });
});
