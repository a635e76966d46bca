/**
 * `ctx.storage.sql.exec`'s cursor reads its rows as it is read, one SQLite step per row as workerd
 * does: a query without an end can be read in part, the counters grow as it is read, and a cursor left
 * half-read survives other statements (the same SQL included), commits and the connection's parking.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatementSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DurableObjectStorage } from "../../src/storage/durable-storage.ts";
import { SqlError } from "../../src/storage/errors.ts";

let dir: string;
let db: AgentDatabase;
let storage: DurableObjectStorage;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-sql-cursor-"));
  db = new AgentDatabase({ path: join(dir, "cursor.sqlite"), durability: "relaxed", identity: "cursor/a", currentOwner: () => undefined });
  let alarm: number | null = null;
  storage = new DurableObjectStorage(db, { alarms: { get: () => alarm, set: (at) => void (alarm = at), delete: () => void (alarm = null) } });
  storage.sql.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3), (4)");
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";

describe("sql.exec cursor", () => {
  it("reads a table again once it is back, after a rollback took it away while a cursor was reading it", () => {
    // A table made inside a transactionSync block that throws is gone again; the SQL naming it fails
    // with SQLite's own message, and works once the table is made again (a counter's table, say).
    const read = () => [...storage.sql.exec<{ v: number }>("SELECT v FROM made_late")].map((row) => row.v);
    expect(() =>
      storage.transactionSync(() => {
        storage.sql.exec("CREATE TABLE made_late (v INTEGER); INSERT INTO made_late VALUES (1)");
        expect(read()).toEqual([1]);
        throw new Error("undo");
      }),
    ).toThrow("undo");
    expect(read).toThrow(/no such table: made_late/);
    storage.sql.exec("CREATE TABLE made_late (v INTEGER); INSERT INTO made_late VALUES (2)");
    expect(read()).toEqual([2]);
  });

  it("reads a query without an end one row at a time", () => {
    const cursor = storage.sql.exec<{ x: number }>(ENDLESS);
    expect(cursor.rowsRead).toBe(0);
    expect(cursor.next()).toEqual({ done: false, value: { x: 1 } });
    expect(cursor.next()).toEqual({ done: false, value: { x: 2 } });
    expect(cursor.rowsRead).toBe(2);
    const firstOfRaw = cursor.raw().next();
    expect(firstOfRaw).toEqual({ done: false, value: [3] });
  });

  it("grows rowsRead as it is read; toArray() and one() read what is left", () => {
    const cursor = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    expect(cursor.columnNames).toEqual(["x"]);
    expect(cursor.rowsRead).toBe(0);
    expect(cursor.next().value).toEqual({ x: 1 });
    expect(cursor.toArray()).toEqual([{ x: 2 }, { x: 3 }, { x: 4 }]);
    expect(cursor.rowsRead).toBe(4);
    expect(cursor.next()).toEqual({ done: true, value: undefined });
    const last = storage.sql.exec("SELECT x FROM t ORDER BY x");
    last.next();
    last.next();
    last.next();
    expect(last.one()).toEqual({ x: 4 });
    expect(storage.sql.exec("SELECT x FROM t ORDER BY x").raw().toArray()).toEqual([[1], [2], [3], [4]]);
  });

  it("is its own iterator", () => {
    const cursor = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    const iterator = cursor[Symbol.iterator]();
    expect(iterator).toBe(cursor);
    expect(iterator.next().value).toEqual({ x: 1 });
    expect([...iterator].map((row) => row.x)).toEqual([2, 3, 4]);
    const raw = storage.sql.exec("SELECT x FROM t ORDER BY x").raw();
    expect(raw[Symbol.iterator]()).toBe(raw);
  });

  it("keeps its place while the same SQL and other statements run, and across a commit", () => {
    const first = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    expect(first.next().value).toEqual({ x: 1 });
    const second = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    expect(second.next().value).toEqual({ x: 1 });
    expect(storage.sql.exec("SELECT x FROM t ORDER BY x").toArray()).toHaveLength(4);
    storage.sql.exec("CREATE TABLE u (y); INSERT INTO u VALUES (1)");
    db.flush();
    expect(first.next().value).toEqual({ x: 2 });
    expect(second.toArray().map((row) => row.x)).toEqual([2, 3, 4]);
    expect(first.toArray().map((row) => row.x)).toEqual([3, 4]);
    // Done: the cached statement is shared again, reading objects for other callers.
    expect(db.statement("SELECT x FROM t ORDER BY x").get()).toEqual({ x: 1 });
  });

  it("is read after the connection was parked and reopened", () => {
    const unread = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    db.flush();
    expect(db.park()).toBe(true);
    expect(unread.toArray()).toHaveLength(4);
  });

  it("turns an INTEGER beyond ±2^53 met half-way into a number without losing a row", () => {
    storage.sql.exec("INSERT INTO t VALUES (9223372036854775807), (6)");
    const cursor = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY rowid");
    const seen: number[] = [];
    for (const row of cursor) seen.push(row.x);
    expect(seen).toEqual([1, 2, 3, 4, 2 ** 63, 6]);
  });

  it("runs a script's earlier statements at once, and a write with RETURNING before it is read", () => {
    const cursor = storage.sql.exec("INSERT INTO t VALUES (10); SELECT count(*) AS n FROM t");
    expect(storage.sql.exec("SELECT count(*) AS n FROM t").one()).toEqual({ n: 5 });
    expect(cursor.one()).toEqual({ n: 5 });
    const returning = storage.sql.exec("INSERT INTO t VALUES (11), (12) RETURNING x");
    expect(returning.rowsWritten).toBe(2);
    expect(storage.sql.exec("SELECT count(*) AS n FROM t").one()).toEqual({ n: 7 });
  });
});

describe("a cursor given up part-way", () => {
  /** ids 1…n in table `ids`, committed. */
  function ids(n: number): void {
    storage.sql.exec("CREATE TABLE ids (id INTEGER PRIMARY KEY)");
    for (let id = 1; id <= n; id++) storage.sql.exec("INSERT INTO ids VALUES (?)", id);
    db.flush();
  }

  it("leaves the cached statement free for the same SQL: destructuring, break, a small result left unread", () => {
    const ownStatement = vi.spyOn(db, "oneUseStatement");
    for (let i = 0; i < 20; i++) {
      const [row] = storage.sql.exec<{ x: number }>("SELECT x FROM t WHERE x >= ? ORDER BY x", 2);
      expect(row).toEqual({ x: 2 });
      for (const endless of storage.sql.exec<{ x: number }>(ENDLESS)) if (endless.x === 3) break;
      for (const raw of storage.sql.exec(ENDLESS).raw()) if (raw[0] === 100) break;
      expect(storage.sql.exec("SELECT x FROM t ORDER BY x").next().value).toEqual({ x: 1 });
    }
    expect(ownStatement).not.toHaveBeenCalled();
  });

  it("is done once given up with return()", () => {
    const cursor = storage.sql.exec<{ x: number }>(ENDLESS);
    expect(cursor.next().value).toEqual({ x: 1 });
    expect(cursor.return()).toEqual({ done: true, value: undefined });
    expect(cursor.next()).toEqual({ done: true, value: undefined });
    expect(cursor.rowsRead).toBe(1);
  });

  it("hands out the rows that follow after the connection was parked, or fails plainly: never other rows", () => {
    ids(100);
    const small = storage.sql.exec<{ id: number }>("SELECT id FROM ids WHERE id <= 10 ORDER BY id");
    const large = storage.sql.exec<{ id: number }>("SELECT id FROM ids ORDER BY id");
    expect([small.next().value?.id, small.next().value?.id]).toEqual([1, 2]);
    expect([large.next().value?.id, large.next().value?.id]).toEqual([1, 2]);
    storage.sql.exec("DELETE FROM ids WHERE id IN (1, 2)");
    db.flush();
    expect(db.park()).toBe(true);
    // The small query's rows were read with its first row; the large one's statement went with the connection.
    expect(small.toArray().map((row) => row.id)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => large.toArray()).toThrow(SqlError);
    expect(() => large.toArray()).not.toThrow(); // done, once it said so
    const again = storage.sql.exec<{ id: number }>("SELECT id FROM ids ORDER BY id");
    expect(again.next().value?.id).toBe(3);
    for (let i = 0; i < 70; i++) again.next();
    db.flush();
    expect(db.park()).toBe(true);
    expect(() => again.next()).toThrow(/can no longer be read: the database connection it read from was closed since exec\(\)/);
    expect(() => storage.sql.exec<{ id: number }>("SELECT id FROM ids ORDER BY id").one()).toThrow(/multiple results/);
  });

  it("reads an INTEGER beyond ±2^53 past its first rows without running the query again", () => {
    ids(100);
    storage.sql.exec("INSERT INTO ids VALUES (9223372036854775807)");
    const iterate = vi.spyOn(StatementSync.prototype, "iterate");
    try {
      const cursor = storage.sql.exec<{ id: number }>("SELECT id FROM ids ORDER BY id");
      const seen: number[] = [];
      for (const row of cursor) seen.push(row.id);
      expect(seen).toHaveLength(101);
      expect(seen.slice(-2)).toEqual([100, 2 ** 63]);
      expect(iterate).toHaveBeenCalledTimes(1);
    } finally {
      iterate.mockRestore();
    }
  });
});

describe("argument errors", () => {
  it("refuses SQL that is not a string with a TypeError", () => {
    expect(() => storage.sql.exec(123 as unknown as string)).toThrow(new TypeError("sql.exec() takes the SQL as a string, not number"));
  });

  it("answers the bookmark methods with a rejected promise, as their type says", async () => {
    let promise: Promise<string> | undefined;
    expect(() => (promise = storage.getCurrentBookmark())).not.toThrow();
    await expect(promise).rejects.toThrow("point-in-time recovery");
    await expect(storage.getBookmarkForTime(Date.now())).rejects.toThrow("getBookmarkForTime");
    await expect(storage.onNextSessionRestoreBookmark("b")).rejects.toThrow("onNextSessionRestoreBookmark");
  });
});
