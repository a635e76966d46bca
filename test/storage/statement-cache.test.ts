/** What the statement cache tells about a statement's text, and that it prepares each text once. */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { StatementCache } from "../../src/storage/statement-cache.ts";

describe("StatementCache", () => {
  it("prepares a text once, and tells schema changes and statements on the state table from the rest", () => {
    const db = new DatabaseSync(":memory:");
    db.exec("CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT); CREATE TABLE _hearth_flow_rate_limits (k TEXT); CREATE TABLE t (x)");
    const cache = new StatementCache();
    const insert = "INSERT INTO t VALUES (?)";
    expect(cache.prepare(db, insert)).toBe(cache.prepare(db, insert));
    for (const query of [insert, "SELECT * FROM _hearth_flow_rate_limits", "CREATE TABLE u (y)", "INSERT INTO _HEARTH_STATE (chunk, data) VALUES (1, 'x')"]) cache.prepare(db, query);
    expect(cache.changesSchema("CREATE TABLE u (y)")).toBe(true);
    expect(cache.changesSchema(insert)).toBe(false);
    // Only the state table: Hearth's other tables (a rate limit's counters) keep no cache of their rows.
    expect(cache.namesStateTable("INSERT INTO _HEARTH_STATE (chunk, data) VALUES (1, 'x')")).toBe(true);
    expect(cache.namesStateTable("SELECT * FROM _hearth_flow_rate_limits")).toBe(false);
    expect(cache.namesStateTable(insert)).toBe(false);
    expect(() => cache.prepare(db, "BEGIN")).toThrow();
    cache.clear();
    expect(cache.changesSchema("CREATE TABLE u (y)")).toBe(false);
    db.close();
  });
});
