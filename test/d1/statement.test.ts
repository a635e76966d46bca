import { describe, expect, it } from "vitest";
import { d1TestDirs, errorOf } from "./helpers.ts";

const { open } = d1TestDirs();

async function usersDb() {
  const db = open();
  await db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT, age INTEGER, avatar BLOB)");
  await db.prepare("INSERT INTO users (email, name, age) VALUES (?, ?, ?)").bind("ada@example.com", "Ada", 36).run();
  await db.prepare("INSERT INTO users (email, name, age) VALUES (?1, ?2, ?3)").bind("alan@example.com", "Alan", 41).run();
  return db;
}

describe("prepare and bind", () => {
  it("bind returns a new statement and leaves the original unbound", async () => {
    const db = await usersDb();
    const unbound = db.prepare("SELECT name FROM users WHERE email = ?");
    const bound = unbound.bind("ada@example.com");
    expect(bound).not.toBe(unbound);
    expect(unbound.params).toEqual([]);
    expect(bound.params).toEqual(["ada@example.com"]);
    expect(await bound.first("name")).toBe("Ada");
    expect((await errorOf(unbound.first())).message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
  });

  it("applies D1's type rules: numbers, strings, booleans as 1/0, null, byte arrays and buffers as BLOBs", async () => {
    const db = open();
    const row = await db
      .prepare("SELECT ? AS n, ? AS s, ? AS t, ? AS f, ? AS z, ? AS arr, ? AS buf, ? AS view, typeof(?) AS blobType")
      .bind(1.5, "text", true, false, null, [1, 2, 255], new Uint8Array([9, 8]).buffer, new Uint8Array([7]), [0])
      .first();
    expect(row).toEqual({ n: 1.5, s: "text", t: 1, f: 0, z: null, arr: [1, 2, 255], buf: [9, 8], view: [7], blobType: "blob" });
  });

  it("binds whole numbers as INTEGER (as D1's JSON does), NaN and Infinity as NULL", async () => {
    const db = open();
    const row = await db.prepare("SELECT typeof(?) AS int, ? / 2 AS half, typeof(?) AS real, ? AS nan, ? AS inf").bind(3, 3, 3.25, Number.NaN, Infinity).first();
    expect(row).toEqual({ int: "integer", half: 1, real: "real", nan: null, inf: null });
  });

  it.each([
    [undefined, "Type 'undefined' not supported for value 'undefined'"],
    [10n, "Type 'bigint' not supported for value '10'"],
    [{ a: 1 }, "Type 'object' not supported for value '[object Object]'"],
    [[1, 256], "Type 'object' not supported for value '1,256'"],
    [["a"], "Type 'object' not supported for value 'a'"],
    [Symbol("s"), "Type 'symbol' not supported for value 'Symbol(s)'"],
    [() => 1, "Type 'function' not supported for value '() => 1'"],
    [Object.create(null), "Type 'object' not supported for value '[object Object]'"],
  ])("bind(%s) throws D1_TYPE_ERROR", (value, text) => {
    const db = open();
    const error = (() => {
      try {
        db.prepare("SELECT ?").bind(value);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error("bind did not throw");
    })();
    expect(error.message).toBe(`D1_TYPE_ERROR: ${text}`);
    expect((error.cause as Error).message).toBe(text);
  });

  it("refuses named parameters with a clear D1_ERROR", async () => {
    const db = open();
    for (const sql of ["SELECT :name", "SELECT @name", "SELECT $name"]) {
      const error = await errorOf(db.prepare(sql).bind(1).all());
      expect(error.message).toMatch(/^D1_ERROR: named parameters are not supported \(found [:@$]name\); D1 binds only \? and \?NNN parameters/);
    }
    // Numbered names too (SQLite's `$1`, `:1`, `@1`), bound or not: unbound, SQLite would run them as NULL.
    await db.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('keep')");
    for (const sql of ["SELECT $1", "SELECT :1", "SELECT @1 AS x", "UPDATE kept SET v = @1"]) {
      for (const statement of [db.prepare(sql), db.prepare(sql).bind("x")]) {
        const error = await errorOf(statement.run());
        expect(error.message, sql).toMatch(/^D1_ERROR: named parameters are not supported \(found [:@$]1\)/);
      }
    }
    expect(await db.prepare("SELECT v FROM kept").all()).toMatchObject({ results: [{ v: "keep" }] });
  });

  it("counts ?NNN parameters as SQLite does and refuses too many or too few values", async () => {
    const db = open();
    expect(await db.prepare("SELECT ?2 AS b, ?1 AS a, ? AS c").bind("a", "b", "c").first()).toEqual({ b: "b", a: "a", c: "c" });
    expect(await db.prepare("SELECT ?1 AS a, ?1 AS again").bind("x").first()).toEqual({ a: "x", again: "x" });
    expect(await db.prepare("SELECT '?' AS q, 'it''s ?' AS [?r] /* ? */ -- ?\n").first()).toEqual({ q: "?", "?r": "it's ?" });
    expect((await errorOf(db.prepare("SELECT ?, ?").bind(1).all())).message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
    expect((await errorOf(db.prepare("SELECT ?").bind(1, 2).all())).message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
  });
});

describe("first", () => {
  it("returns the first row as a plain object, null without rows", async () => {
    const db = await usersDb();
    const row = await db.prepare("SELECT id, name FROM users ORDER BY id").first();
    expect(row).toEqual({ id: 1, name: "Ada" });
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(await db.prepare("SELECT * FROM users WHERE id = ?").bind(99).first()).toBeNull();
    expect(await db.prepare("SELECT * FROM users WHERE id = ?").bind(99).first("name")).toBeNull();
  });

  it("returns one column's value, null values included", async () => {
    const db = await usersDb();
    expect(await db.prepare("SELECT age FROM users WHERE id = 2").first("age")).toBe(41);
    expect(await db.prepare("SELECT avatar FROM users WHERE id = 2").first("avatar")).toBeNull();
    expect(await db.prepare("SELECT count(*) AS n FROM users").first<number>("n")).toBe(2);
  });

  it("throws D1_COLUMN_NOTFOUND for a column the row lacks", async () => {
    const db = await usersDb();
    const error = await errorOf(db.prepare("SELECT name FROM users").first("nope"));
    expect(error.message).toBe("D1_COLUMN_NOTFOUND: Column not found (nope)");
    expect((error.cause as Error).message).toBe("Column not found");
    expect((await errorOf(db.prepare("SELECT name FROM users").first("toString"))).message).toBe("D1_COLUMN_NOTFOUND: Column not found (toString)");
  });

  it("runs a write with RETURNING once", async () => {
    const db = await usersDb();
    const id = await db.prepare("INSERT INTO users (email) VALUES (?) RETURNING id").bind("grace@example.com").first("id");
    expect(id).toBe(3);
    expect(await db.prepare("SELECT count(*) AS n FROM users").first("n")).toBe(3);
  });
});

describe("all, run and raw", () => {
  it("all returns { success, meta, results } with every row", async () => {
    const db = await usersDb();
    const result = await db.prepare("SELECT id, name FROM users ORDER BY id").all<{ id: number; name: string }>();
    expect(result.success).toBe(true);
    expect(result.results).toEqual([
      { id: 1, name: "Ada" },
      { id: 2, name: "Alan" },
    ]);
    expect(result.meta.rows_read).toBe(2);
  });

  it("run returns results too (empty for writes), like all", async () => {
    const db = await usersDb();
    const write = await db.prepare("UPDATE users SET age = age + 1").run();
    expect(write).toMatchObject({ success: true, results: [] });
    expect(write.meta.changes).toBe(2);
    const read = await db.prepare("SELECT age FROM users ORDER BY id").run();
    expect(read.results).toEqual([{ age: 37 }, { age: 42 }]);
  });

  it("raw returns arrays, with the column names first when asked (even without rows)", async () => {
    const db = await usersDb();
    expect(await db.prepare("SELECT id, name FROM users ORDER BY id").raw()).toEqual([
      [1, "Ada"],
      [2, "Alan"],
    ]);
    expect(await db.prepare("SELECT id, name FROM users ORDER BY id").raw({ columnNames: true })).toEqual([
      ["id", "name"],
      [1, "Ada"],
      [2, "Alan"],
    ]);
    expect(await db.prepare("SELECT id, name FROM users WHERE id = 0").raw({ columnNames: true })).toEqual([["id", "name"]]);
  });

  it("keeps duplicate column names in raw and lets the last win in objects", async () => {
    const db = open();
    expect(await db.prepare("SELECT 1 AS a, 2 AS a").raw({ columnNames: true })).toEqual([["a", "a"], [1, 2]]);
    expect(await db.prepare("SELECT 1 AS a, 2 AS a").first()).toEqual({ a: 2 });
  });

  it("returns BLOBs as arrays of numbers", async () => {
    const db = await usersDb();
    await db.prepare("UPDATE users SET avatar = ? WHERE id = 1").bind(new Uint8Array([0, 127, 255])).run();
    expect(await db.prepare("SELECT avatar FROM users WHERE id = 1").first("avatar")).toEqual([0, 127, 255]);
    expect(await db.prepare("SELECT avatar FROM users WHERE id = 1").raw()).toEqual([[[0, 127, 255]]]);
  });

  it("reads integers beyond 2^53 as (rounded) numbers instead of failing", async () => {
    const db = open();
    await db.exec("CREATE TABLE big (v INTEGER)");
    await db.prepare("INSERT INTO big VALUES (9007199254740993)").run();
    expect(await db.prepare("SELECT v FROM big").first("v")).toBe(9007199254740992);
    expect((await db.prepare("SELECT v, 1 AS one FROM big").all()).results).toEqual([{ v: 9007199254740992, one: 1 }]);
  });

  it("runs every statement of a multi-statement query and returns the last one's rows", async () => {
    const db = open();
    const result = await db.prepare("CREATE TABLE m (v); INSERT INTO m VALUES (1); SELECT v FROM m WHERE v = ?").bind(1).all();
    expect(result.results).toEqual([{ v: 1 }]);
    const error = await errorOf(db.prepare("SELECT ?; SELECT ?").bind(1, 2).all());
    expect(error.message).toBe("D1_ERROR: When executing multiple SQL statements in a single call, only the last statement can have parameters.");
  });

  it("reports SQLite errors as D1_ERROR with SQLite's message and result code", async () => {
    const db = await usersDb();
    const missing = await errorOf(db.prepare("SELECT * FROM nope").all());
    expect(missing.message).toBe("D1_ERROR: no such table: nope: SQLITE_ERROR");
    expect((missing.cause as Error).message).toBe("no such table: nope: SQLITE_ERROR");
    const duplicate = await errorOf(db.prepare("INSERT INTO users (email) VALUES (?)").bind("ada@example.com").run());
    expect(duplicate.message).toBe("D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT");
    expect((await errorOf(db.prepare("   -- only a comment").all())).message).toBe("D1_ERROR: No SQL statements detected.");
  });

  it("refuses transaction control: each call already runs in its own transaction", async () => {
    const db = open();
    for (const sql of ["BEGIN TRANSACTION", "COMMIT", "ROLLBACK", "SAVEPOINT a", "RELEASE a"]) {
      const error = await errorOf(db.prepare(sql).run());
      expect(error.message).toMatch(/^D1_ERROR: [A-Z]+ is not supported: D1 runs each query, batch\(\) and exec\(\) in a transaction of its own/);
    }
  });

  it("enforces foreign keys, as D1 does", async () => {
    const db = open();
    await db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY)\nCREATE TABLE child (parent_id INTEGER REFERENCES parent(id))");
    const error = await errorOf(db.prepare("INSERT INTO child VALUES (1)").run());
    expect(error.message).toBe("D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT");
  });
});
