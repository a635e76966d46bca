import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { D1Engine } from "../../src/d1/engine.ts";
import { closeAllD1Databases, d1DatabasePath, D1Database, openD1Database } from "../../src/d1/index.ts";
import { d1TestDirs, errorOf } from "./helpers.ts";

const { open, dir } = d1TestDirs();

describe("meta", () => {
  it("reports duration, changes, last_row_id, changed_db, size_after, rows read and written, served_by", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
    const insert = await db.prepare("INSERT INTO t (v) VALUES (?), (?)").bind("a", "b").run();
    expect(insert.meta).toMatchObject({
      changes: 2,
      last_row_id: 2,
      changed_db: true,
      rows_read: 0,
      rows_written: 2,
      served_by: "hearth",
      served_by_region: "local",
      served_by_primary: true,
      total_attempts: 1,
    });
    expect(insert.meta.duration).toBeGreaterThanOrEqual(0);
    expect(insert.meta.timings.sql_duration_ms).toBe(insert.meta.duration);
    expect(insert.meta.size_after).toBeGreaterThan(0);
    const read = await db.prepare("SELECT * FROM t").all();
    expect(read.meta).toMatchObject({ changes: 0, changed_db: false, rows_read: 2, rows_written: 0, last_row_id: 2 });
    const noop = await db.prepare("UPDATE t SET v = 'c' WHERE id = 99").run();
    expect(noop.meta).toMatchObject({ changes: 0, changed_db: false });
    const schema = await db.prepare("CREATE INDEX t_v ON t (v)").run();
    expect(schema.meta.changed_db).toBe(true);
  });

  it("counts rows changed by triggers", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (v)\nCREATE TABLE log (v)");
    await db.prepare("CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (CASE WHEN new.v > 0 THEN 'pos' ELSE 'neg' END); END").run();
    const result = await db.prepare("INSERT INTO t VALUES (1)").run();
    expect(result.meta.changes).toBe(2);
    expect(await db.prepare("SELECT v FROM log").first("v")).toBe("pos");
  });
});

describe("dump and close", () => {
  it("dump returns the database file's bytes", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (v)\nINSERT INTO t VALUES ('dumped')");
    const bytes = await db.dump();
    expect(bytes).toBeInstanceOf(ArrayBuffer);
    expect(new TextDecoder().decode(new Uint8Array(bytes).slice(0, 15))).toBe("SQLite format 3");
    const copy = new DatabaseSync(":memory:");
    copy.deserialize(new Uint8Array(bytes));
    expect(copy.prepare("SELECT v FROM t").get()).toEqual({ v: "dumped" });
    copy.close();
  });

  it("fails calls after close with a D1_ERROR, and dump with D1_DUMP_ERROR", async () => {
    const db = new D1Database({ path: join(dir(), "closed.sqlite") });
    db.close();
    db.close(); // twice is fine
    expect((await errorOf(db.prepare("SELECT 1").all())).message).toMatch(/^D1_ERROR: the D1 database .*closed\.sqlite is closed/);
    expect((await errorOf(db.dump())).message).toMatch(/^D1_DUMP_ERROR: the D1 database .* is closed/);
  });

  it("keeps data across close and reopen, with strict durability too", async () => {
    const path = join(dir(), "nested", "kept.sqlite");
    const first = new D1Database({ path, durability: "strict" });
    await first.exec("CREATE TABLE t (v)\nINSERT INTO t VALUES (1)");
    first.close();
    expect(existsSync(path)).toBe(true);
    const second = new D1Database({ path });
    expect(await second.prepare("SELECT v FROM t").first("v")).toBe(1);
    second.close();
  });
});

describe("openD1Database", () => {
  it("shares one connection per file between handles and closes it with the last one", async () => {
    const path = join(dir(), "shared.sqlite");
    const a = openD1Database(path);
    const b = openD1Database(join(path, "..", "shared.sqlite"));
    const c = new D1Database({ path });
    await a.exec("CREATE TABLE t (v)");
    await c.prepare("INSERT INTO t VALUES (1)").run();
    a.close();
    a.close(); // idempotent: gives back one reference only
    expect((await errorOf(a.prepare("SELECT 1").all())).message).toMatch(/^D1_ERROR: the D1 database .*shared\.sqlite is closed/);
    expect(await b.prepare("SELECT count(*) AS n FROM t").first("n")).toBe(1);
    expect(() => openD1Database(path, { durability: "strict" })).toThrow(
      /^D1_ERROR: the D1 database .*shared\.sqlite is already open with durability "relaxed", not "strict"$/,
    );
    b.close();
    c.close();
    const strict = openD1Database(path, { durability: "strict" }); // the file was closed: another durability is fine now
    expect(await strict.prepare("SELECT count(*) AS n FROM t").first("n")).toBe(1);
    closeAllD1Databases();
    expect((await errorOf(strict.prepare("SELECT 1").all())).message).toMatch(/is closed/);
    expect((await errorOf(strict.withSession().prepare("SELECT 1").all())).message).toMatch(/is closed/);
    strict.close();
  });

  it("lets a second connection (the d1 command in another process) write while the file is open", async () => {
    const path = join(dir(), "two.sqlite");
    const server = new D1Database({ path });
    const command = new D1Engine(path); // its own SQLite connection, as another process would have
    try {
      await server.exec("CREATE TABLE t (v)");
      command.query({ sql: "INSERT INTO t VALUES (1)", params: [] }, "all", true);
      expect(await server.prepare("SELECT count(*) AS n FROM t").first("n")).toBe(1);
    } finally {
      command.close();
      server.close();
    }
  });
});

describe("another process writing", () => {
  it("waits for its write lock, then fails with SQLITE_BUSY and changes nothing", async () => {
    const path = join(dir(), "busy.sqlite");
    const db = new D1Database({ path });
    await db.exec("CREATE TABLE t (v)");
    const other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES ('other');");
    try {
      const error = await errorOf(db.prepare("INSERT INTO t VALUES ('mine')").run());
      expect(error.message).toBe("D1_ERROR: database is locked: SQLITE_BUSY");
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect(await db.prepare("SELECT count(*) AS n FROM t").first("n")).toBe(0);
    db.close();
  });
});

describe("d1DatabasePath", () => {
  it("puts a database at <dataDir>/d1/<name>.sqlite", () => {
    expect(d1DatabasePath("/data", "app-db")).toBe(join("/data", "d1", "app-db.sqlite"));
    expect(d1DatabasePath("/data", "my_db.v2")).toBe(join("/data", "d1", "my_db.v2.sqlite"));
  });

  it.each(["", "../escape", "a/b", "a\\b", ".hidden", "x".repeat(101), "a..b", "spaces here"])("refuses %j", (name) => {
    expect(() => d1DatabasePath("/data", name)).toThrow(/cannot be used as a file name/);
  });
});
