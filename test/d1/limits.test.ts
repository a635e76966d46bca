import { describe, expect, it } from "vitest";
import { D1_LIMITS } from "../../src/d1/index.ts";
import { d1TestDirs, errorOf } from "./helpers.ts";

const { open } = d1TestDirs();

async function itemsDb() {
  const db = open();
  await db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, v)");
  await db.prepare("INSERT INTO items (v) VALUES (?)").bind("kept").run();
  return db;
}

async function count(db: Awaited<ReturnType<typeof itemsDb>>): Promise<number> {
  return (await db.prepare("SELECT count(*) AS n FROM items").first<number>("n"))!;
}

const placeholders = (n: number, text = "(?)") => Array.from({ length: n }, () => text).join(", ");

describe("D1 limits", () => {
  it("allows 100 bound parameters and refuses 101; nothing is stored", async () => {
    const db = await itemsDb();
    const values = Array.from({ length: 101 }, (_, i) => i);
    await db.prepare(`INSERT INTO items (v) VALUES ${placeholders(100)}`).bind(...values.slice(0, 100)).run();
    expect(await count(db)).toBe(101);
    const error = await errorOf(db.prepare(`INSERT INTO items (v) VALUES ${placeholders(101)}`).bind(...values).run());
    expect(error.message).toBe(
      "D1_ERROR: too many SQL variables: the statement has 101 parameters; D1 allows at most 100 bound parameters per statement",
    );
    expect(await count(db)).toBe(101);
  });

  it("refuses ?101 and 101 values bound to fewer parameters, naming the limit", async () => {
    const db = await itemsDb();
    expect((await errorOf(db.prepare("SELECT ?101").bind(...Array.from({ length: 101 }, () => 1)).all())).message).toBe(
      "D1_ERROR: too many SQL variables: the statement has 101 parameters; D1 allows at most 100 bound parameters per statement",
    );
    expect((await errorOf(db.prepare("SELECT ?").bind(...Array.from({ length: 101 }, () => 1)).all())).message).toBe(
      "D1_ERROR: too many SQL variables: 101 values bound; D1 allows at most 100 bound parameters per statement",
    );
  });

  it("refuses a statement over 100 KB and in a batch stores nothing", async () => {
    const db = await itemsDb();
    const long = `INSERT INTO items (v) VALUES ('${"x".repeat(D1_LIMITS.maxStatementBytes)}')`;
    const error = await errorOf(db.batch([db.prepare("INSERT INTO items (v) VALUES (1)"), db.prepare(long)]));
    expect(error.message).toBe(`D1_ERROR: statement too long: ${Buffer.byteLength(long).toLocaleString("en-US")} bytes; D1 allows at most 100,000 bytes (100 KB) per SQL statement`);
    expect(await count(db)).toBe(1);
    const exactly = `SELECT '${"é".repeat((D1_LIMITS.maxStatementBytes - 14) / 2)}' AS v`;
    expect(Buffer.byteLength(exactly)).toBe(D1_LIMITS.maxStatementBytes);
    expect((await db.prepare(exactly).first<string>("v"))!.length).toBe((D1_LIMITS.maxStatementBytes - 14) / 2);
  });

  it("refuses a bound string or BLOB over 2 MB before it reaches SQLite", async () => {
    const db = await itemsDb();
    const text = await errorOf(db.prepare("INSERT INTO items (v) VALUES (?)").bind("é".repeat(1_000_001)).run());
    expect(text.message).toBe(
      "D1_ERROR: string or blob too big: bound parameter 1 is a string of 2,000,002 bytes; D1 allows at most 2,000,000 bytes per string, BLOB or row",
    );
    const blob = await errorOf(db.prepare("INSERT INTO items (v) VALUES (?)").bind(new Uint8Array(2_000_001)).run());
    expect(blob.message).toBe(
      "D1_ERROR: string or blob too big: bound parameter 1 is a BLOB of 2,000,001 bytes; D1 allows at most 2,000,000 bytes per string, BLOB or row",
    );
    await db.prepare("INSERT INTO items (v) VALUES (?)").bind("x".repeat(1_999_900)).run();
    expect(await count(db)).toBe(2);
  });

  it("refuses a row over 2 MB and a computed value over 2 MB (SQLite's length limit)", async () => {
    const db = await itemsDb();
    await db.exec("CREATE TABLE pairs (a, b)");
    const half = "x".repeat(1_100_000);
    const row = await errorOf(db.prepare("INSERT INTO pairs VALUES (?, ?)").bind(half, half).run());
    expect(row.message).toBe("D1_ERROR: string or blob too big: SQLITE_TOOBIG (D1 allows at most 2,000,000 bytes per string, BLOB or row)");
    expect(await db.prepare("SELECT count(*) AS n FROM pairs").first("n")).toBe(0);
    const computed = await errorOf(db.prepare("SELECT zeroblob(2000001)").first());
    expect(computed.message).toMatch(/^D1_ERROR: string or blob too big: SQLITE_TOOBIG/);
  });

  it("refuses a table of 101 columns", async () => {
    const db = open();
    const columns = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(", ");
    await db.prepare(`CREATE TABLE ok (${columns(100)})`).run();
    const error = await errorOf(db.prepare(`CREATE TABLE wide (${columns(101)})`).run());
    expect(error.message).toBe("D1_ERROR: too many columns on wide: SQLITE_ERROR (D1 allows at most 100 columns)");
  });

  it("refuses LIKE / GLOB patterns over 50 bytes", async () => {
    const db = open();
    expect(await db.prepare("SELECT 'abc' LIKE ? AS m").bind(`${"_".repeat(2)}%${"%".repeat(47)}`).first("m")).toBe(1);
    const error = await errorOf(db.prepare("SELECT 'abc' LIKE ? AS m").bind("%".repeat(51)).first());
    expect(error.message).toBe("D1_ERROR: LIKE or GLOB pattern too complex: SQLITE_ERROR (D1 allows LIKE and GLOB patterns of at most 50 bytes)");
  });

  it("refuses SQL functions with more than 32 arguments", async () => {
    const db = open();
    expect(await db.prepare(`SELECT max(${placeholders(32, "1")}) AS m`).first("m")).toBe(1);
    const error = await errorOf(db.prepare(`SELECT max(${placeholders(33, "1")}) AS m`).first());
    expect(error.message).toBe("D1_ERROR: too many arguments on function max: SQLITE_ERROR (D1 allows at most 32 arguments per SQL function)");
  });

  it("refuses ATTACH", async () => {
    const db = open();
    const error = await errorOf(db.prepare("ATTACH DATABASE ':memory:' AS other").run());
    expect(error.message).toMatch(/^D1_ERROR: too many attached databases - max 0: SQLITE_ERROR \(D1 does not support ATTACH\)$/);
  });
});
