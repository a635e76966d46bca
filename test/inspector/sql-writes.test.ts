/**
 * An admin's SQL writes stay inside their transaction: no PRAGMA that sets something on the agent's
 * file or connection, and `rowsAffected` counts the rows the writes changed, nothing else.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function withNote(): Promise<Fixture> {
  fixture = await startFixture();
  await fixture.t.get<Notebook>("Notebook", "a").note("keep");
  return fixture;
}

const query = (f: Fixture, sql: string, extra: Record<string, unknown> = {}) =>
  f.api("/api/agents/Notebook/a/sql/query", { method: "POST", as: "admin", body: { sql, ...extra } });

describe("inspector SQL writes", () => {
  it.each([
    ["PRAGMA user_version = 7", "user_version"],
    ["PRAGMA main.user_version = 7", "user_version"],
    ["PRAGMA query_only = 1", "query_only"],
    ["PRAGMA journal_mode = DELETE", "journal_mode"],
    ["PRAGMA synchronous = OFF", "synchronous"],
    ["PRAGMA foreign_keys = OFF", "foreign_keys"],
    ["PRAGMA locking_mode = NORMAL", "locking_mode"],
    ["PRAGMA wal_autocheckpoint(0)", "wal_autocheckpoint"],
    ["INSERT INTO notes (body) VALUES ('gone'); PRAGMA user_version = 7", "user_version"],
    ["EXPLAIN PRAGMA query_only = 1", "query_only"],
  ])("refuses a PRAGMA that sets something, also with write: true: %s", async (sql, name) => {
    const f = await withNote();
    const response = await query(f, sql, { write: true });
    expect(response.status).toBe(403);
    expect(response.json().error).toEqual({
      code: "refused_pragma",
      message: `PRAGMA ${name} in this form is refused, also with write: true: what it sets outlives the write (the file's user_version and application_id tell Hearth what the file is; the connection's settings are Hearth's)`,
    });
    expect((await query(f, "SELECT body FROM notes")).json().rows).toEqual([["keep"]]);
    // The agent opens and writes as before: after it hibernates too, its file is still one this Hearth knows.
    expect(f.t.hibernate()).toBeGreaterThan(0);
    await f.t.get<Notebook>("Notebook", "a").note("after");
    expect((await query(f, "PRAGMA user_version", { write: true })).json().rows).toEqual([[1]]);
    expect((await query(f, "SELECT count(*) FROM notes")).json().rows).toEqual([[2]]);
  });

  it("counts the rows INSERT, UPDATE and DELETE changed, not those of an earlier statement", async () => {
    const f = await withNote();
    expect((await query(f, "INSERT INTO notes (body) VALUES ('a'); CREATE TABLE more (x)", { write: true })).json().rowsAffected).toBe(1);
    expect((await query(f, "CREATE INDEX notes_body ON notes (body)", { write: true })).json().rowsAffected).toBe(0);
    expect((await query(f, "UPDATE notes SET body = upper(body); PRAGMA user_version", { write: true })).json()).toMatchObject({ rows: [[1]], rowsAffected: 2 });
    const returning = (await query(f, "INSERT INTO notes (body) VALUES ('b') RETURNING body", { write: true })).json();
    expect(returning).toMatchObject({ columns: ["body"], rows: [["b"]], rowsAffected: 1 });
    expect((await query(f, "DELETE FROM notes", { write: true })).json().rowsAffected).toBe(3);
  });

  it("answers 400 for a write flag that is not a boolean", async () => {
    const f = await withNote();
    for (const write of ["true", 1, null]) {
      const response = await query(f, "INSERT INTO notes (body) VALUES ('x')", { write });
      expect(response.status, JSON.stringify(write)).toBe(400);
      expect(response.json().error).toEqual({ code: "bad_request", message: `write must be true or false, got ${JSON.stringify(write)}` });
    }
    expect((await query(f, "SELECT count(*) FROM notes", { write: false })).json().rows).toEqual([[1]]);
  });
});
