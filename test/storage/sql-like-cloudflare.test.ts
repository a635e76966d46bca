/**
 * `ctx.storage.sql` and `this.sql` answering as Cloudflare's (workerd's) do where plain node:sqlite
 * would answer differently: INTEGERs beyond ±2^53, scripts with bindings, the count of bindings, `one()`'s errors, the
 * counters and `databaseSize`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

type Binding = string | number | bigint | null;

class Store extends Agent {
  exec(query: string, ...bindings: Binding[]) {
    const cursor = this.ctx.storage.sql.exec(query, ...bindings);
    return { rows: cursor.toArray(), written: cursor.rowsWritten, read: cursor.rowsRead };
  }
  raw(query: string, ...bindings: Binding[]) {
    return [...this.ctx.storage.sql.exec(query, ...bindings).raw()];
  }
  one(query: string) {
    try {
      return this.ctx.storage.sql.exec(query).one();
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
  size() {
    return this.ctx.storage.sql.databaseSize;
  }
  randoms(times: number) {
    const kinds = new Set<string>();
    for (let i = 0; i < times; i++) kinds.add(typeof this.ctx.storage.sql.exec("SELECT random() AS r").one().r);
    return [...kinds];
  }
  tagBig() {
    this.sql`CREATE TABLE IF NOT EXISTS tagged (id INTEGER PRIMARY KEY, v TEXT)`;
    const inserted = this.sql<{ id: number }>`INSERT INTO tagged VALUES (${2n ** 60n + 1n}, ${"x"}) RETURNING id`;
    const selected = this.sql<{ id: number; big: number }>`SELECT id, ${2n ** 62n + 3n} AS big FROM tagged`;
    return { inserted, selected, count: this.sql<{ n: number }>`SELECT count(*) AS n FROM tagged`[0]!.n };
  }
}

let harness: Harness;
let store: Awaited<ReturnType<typeof getAgentByName<Store>>>;
beforeEach(async () => {
  harness = await startHarness({ Store });
  store = await getAgentByName(harness.host.env.Store as AgentNamespace<Store>, "s");
});
afterEach(() => harness.close());

describe("INTEGERs beyond ±2^53", () => {
  it("read as the nearest number, as on Cloudflare", async () => {
    expect((await store.exec("SELECT 9007199254740993 AS big, -9223372036854775808 AS min, 7 AS small")).rows).toEqual([
      { big: 9007199254740992, min: -9223372036854775808, small: 7 },
    ]);
    expect(await store.raw("SELECT ? AS v", 2n ** 62n + 1n)).toEqual([[2 ** 62]]);
    expect((await store.exec("WITH x(v) AS (SELECT 9007199254740993) SELECT v FROM x")).rows).toEqual([{ v: 9007199254740992 }]);
    expect(await store.randoms(50)).toEqual(["number"]);
  });

  it("from RETURNING, without running the statement twice", async () => {
    await store.exec("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)");
    const inserted = await store.exec("INSERT INTO big VALUES (9007199254740993, 'x') RETURNING id, v");
    expect(inserted.rows).toEqual([{ id: 9007199254740992, v: "x" }]);
    const updated = await store.exec("UPDATE big SET v = v || 'y' RETURNING v, id + 2 AS next");
    expect(updated.rows).toEqual([{ v: "xy", next: 9007199254740996 }]);
    expect((await store.exec("SELECT count(*) AS n, max(v) AS v FROM big")).rows).toEqual([{ n: 1, v: "xy" }]);
  });

  it("through this.sql too", async () => {
    expect(await store.tagBig()).toEqual({ inserted: [{ id: 2 ** 60 }], selected: [{ id: 2 ** 60, big: 2 ** 62 }], count: 1 });
  });
});

describe("a script of several statements", () => {
  it("binds the last statement", async () => {
    expect((await store.exec("CREATE TABLE IF NOT EXISTS t(a); SELECT ?", 5)).rows).toEqual([{ "?": 5 }]);
    expect((await store.exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT a FROM t WHERE a > ? ORDER BY a", 0)).rows).toEqual([{ a: 1 }, { a: 2 }]);
    const inserted = await store.exec("DELETE FROM t; INSERT INTO t VALUES (?), (?)", 3, 4);
    expect(inserted.written).toBe(2);
    expect(await store.raw("SELECT a FROM t ORDER BY a")).toEqual([[3], [4]]);
  });

  it("refuses parameters in an earlier statement, with Cloudflare's message, before running any", async () => {
    const message = "When executing multiple SQL statements in a single call, only the last statement can have parameters.";
    await expect(store.exec("CREATE TABLE early (a); INSERT INTO early VALUES (?); SELECT 1", 1)).rejects.toThrow(message);
    await expect(store.exec("CREATE TABLE early (a); INSERT INTO early VALUES (:a); SELECT 1")).rejects.toThrow(message);
    await expect(store.exec("SELECT ?1; SELECT ?", 1)).rejects.toThrow(message);
    expect((await store.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'early'")).rows).toEqual([{ n: 0 }]);
    // A `?` in a string or a comment is no parameter.
    expect((await store.exec("SELECT '?' /* ? */; SELECT ? AS v", 1)).rows).toEqual([{ v: 1 }]);
  });
});

describe("bindings", () => {
  it("must match the statement's parameters, with workerd's message: an unbound one never runs as NULL", async () => {
    await store.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('keep')");
    const message = /^Wrong number of parameter bindings for SQL query\./;
    for (const query of ["UPDATE kept SET v = ?", "UPDATE kept SET v = ?2", "UPDATE kept SET v = $1", "UPDATE kept SET v = :v", "SELECT ? AS x"]) {
      await expect(store.exec(query), query).rejects.toThrow(message);
    }
    await expect(store.exec("SELECT 1 AS x", 5)).rejects.toThrow(message);
    await expect(store.exec("SELECT ?, ?", 1)).rejects.toThrow(message);
    expect((await store.exec("SELECT v FROM kept")).rows).toEqual([{ v: "keep" }]);
    // A number used twice is one parameter, as SQLite counts it.
    expect((await store.exec("SELECT ?1 AS a, ?1 AS b", 7)).rows).toEqual([{ a: 7, b: 7 }]);
  });
});

describe("cursor.one()", () => {
  it("throws Cloudflare's messages", async () => {
    expect(await store.one("SELECT 1 AS a")).toEqual({ a: 1 });
    expect(await store.one("SELECT 1 WHERE 0")).toEqual({ error: "Expected exactly one result from SQL query, but got no results." });
    expect(await store.one("SELECT 1 UNION ALL SELECT 2")).toEqual({ error: "Expected exactly one result from SQL query, but got multiple results." });
  });
});

describe("rowsWritten", () => {
  it("counts the rows a statement with RETURNING wrote", async () => {
    await store.exec("CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)");
    const inserted = await store.exec("INSERT INTO r (v) VALUES ('a'), ('b'), ('c') RETURNING id");
    expect(inserted).toEqual({ rows: [{ id: 1 }, { id: 2 }, { id: 3 }], written: 3, read: 3 });
    expect((await store.exec("UPDATE r SET v = upper(v) WHERE id > 1 RETURNING v")).written).toBe(2);
    expect((await store.exec("UPDATE r SET v = 'none' WHERE id > 100 RETURNING v")).written).toBe(0);
    expect((await store.exec("SELECT v FROM r")).written).toBe(0);
    expect((await store.exec("WITH gone(id) AS (VALUES (1)) DELETE FROM r WHERE id IN gone RETURNING id")).written).toBe(1);
    expect((await store.exec("INSERT INTO r (v) VALUES ('d'); DELETE FROM r RETURNING id")).written).toBe(3);
    expect((await store.exec("INSERT INTO r (v) VALUES (?)", "e")).written).toBe(1);
  });
});

describe("databaseSize", () => {
  it("leaves out free pages, as on Cloudflare", async () => {
    await store.exec("CREATE TABLE blobs (b BLOB)");
    const empty = await store.size();
    await store.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO blobs SELECT randomblob(4000) FROM n");
    const full = await store.size();
    expect(full).toBeGreaterThan(empty + 200 * 4000);
    await store.exec("DELETE FROM blobs");
    const free = (await store.exec("SELECT freelist_count AS n FROM pragma_freelist_count()")).rows[0]!.n as number;
    const pageSize = (await store.exec("SELECT page_size AS n FROM pragma_page_size()")).rows[0]!.n as number;
    expect(await store.size()).toBe(full - free * pageSize);
    expect(await store.size()).toBeLessThan(empty + 2 * pageSize);
  });
});
