import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { D1Database } from "../../src/d1/index.ts";
import { d1TestDirs, errorOf } from "./helpers.ts";

const { open, dir } = d1TestDirs();

describe("withSession", () => {
  it("has no bookmark before its first query, then the latest commit's, increasing with each commit", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (v)");
    const session = db.withSession("first-primary");
    expect(session.getBookmark()).toBeNull();
    await session.prepare("SELECT count(*) FROM t").first();
    const first = session.getBookmark()!;
    expect(first).toMatch(/^\d{16}$/);
    await session.prepare("INSERT INTO t VALUES (1)").run();
    const second = session.getBookmark()!;
    await session.batch([session.prepare("INSERT INTO t VALUES (2)"), session.prepare("INSERT INTO t VALUES (3)")]);
    const third = session.getBookmark()!;
    expect(first < second && second < third).toBe(true);
    await session.prepare("SELECT * FROM t").all();
    expect(session.getBookmark()).toBe(third); // a read does not advance it
  });

  it("sees commits made outside the session, and keeps the newest bookmark", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (v)");
    const session = db.withSession();
    await session.prepare("SELECT 1").first();
    const before = session.getBookmark()!;
    await db.prepare("INSERT INTO t VALUES (1)").run();
    await session.prepare("SELECT count(*) AS n FROM t").first();
    expect(session.getBookmark()! > before).toBe(true);
  });

  it("starts from a bookmark, which getBookmark returns until a newer one is seen", async () => {
    const db = open();
    await db.exec("CREATE TABLE t (v)");
    const writer = db.withSession();
    await writer.prepare("INSERT INTO t VALUES (1)").run();
    const bookmark = writer.getBookmark()!;
    const reader = db.withSession(bookmark);
    expect(reader.getBookmark()).toBe(bookmark);
    expect(await reader.prepare("SELECT count(*) AS n FROM t").first("n")).toBe(1);
    expect(reader.getBookmark()).toBe(bookmark);
  });

  it("keeps bookmarks increasing across a restart (the counter is in the file)", async () => {
    const path = join(dir(), "restart.sqlite");
    const first = new D1Database({ path });
    await first.exec("CREATE TABLE t (v)");
    const session = first.withSession();
    await session.prepare("INSERT INTO t VALUES (1)").run();
    const before = session.getBookmark()!;
    first.close();
    const second = new D1Database({ path });
    try {
      const later = second.withSession(before);
      await later.prepare("INSERT INTO t VALUES (2)").run();
      expect(later.getBookmark()! > before).toBe(true);
    } finally {
      second.close();
    }
  });

  it("treats an empty or blank argument as first-unconstrained, as workerd does", async () => {
    const db = open();
    for (const value of [undefined, "", "   "]) {
      const session = db.withSession(value);
      expect(session.getBookmark()).toBeNull();
      expect(await session.prepare("SELECT 1 AS one").first("one")).toBe(1);
    }
  });

  it("fails the queries of a session begun at something that is not a bookmark with D1_SESSION_ERROR", async () => {
    const db = open();
    const session = db.withSession("%%%not-a-bookmark%%%");
    const error = await errorOf(session.prepare("SELECT 1").all());
    expect(error.message).toBe("D1_SESSION_ERROR: invalid bookmark or constraint");
    expect((await errorOf(session.batch([session.prepare("SELECT 1")]))).message).toBe("D1_SESSION_ERROR: invalid bookmark or constraint");
  });
});
