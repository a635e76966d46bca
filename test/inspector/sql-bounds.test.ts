/**
 * What one SQL answer may hold: a viewer cannot call functions that double or copy their arguments,
 * every cell is cut inside SQLite before it reaches JavaScript, and an answer stops at its byte budget.
 */
import { afterEach, describe, expect, it } from "vitest";
import { INSPECTOR_LIMITS } from "../../src/inspector/limits.ts";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function withNotes(...bodies: string[]): Promise<Fixture> {
  fixture = await startFixture();
  const stub = fixture.t.get<Notebook>("Notebook", "a");
  await stub.add(1);
  for (const body of bodies) await stub.note(body);
  return fixture;
}

const query = (f: Fixture, sql: string, extra: Record<string, unknown> = {}, as: "viewer" | "admin" = "viewer") =>
  f.api("/api/agents/Notebook/a/sql/query", { method: "POST", as, body: { sql, ...extra } });

/** Fills `notes` with `rows` notes of `chars` characters each (one admin write). */
async function fillNotes(f: Fixture, rows: number, chars: number): Promise<void> {
  const sql = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO notes (body) SELECT printf('%.*c', ${chars}, 'x') FROM n`;
  expect((await query(f, sql, { write: true }, "admin")).json().rowsAffected).toBe(rows);
}

describe("inspector SQL answers are bounded", () => {
  it("refuses a viewer's functions that double or copy their arguments; an admin runs them", async () => {
    const f = await withNotes("one");
    for (const sql of [
      "SELECT length(hex('ab'))",
      "SELECT length(hex(hex(hex('ab'))))",
      "SELECT length(HEX(body)) FROM notes",
      "SELECT quote(body) FROM notes",
      "SELECT json_quote(body) FROM notes",
      "SELECT concat(body, body, body) FROM notes",
      "SELECT concat_ws(',', body, body) FROM notes",
    ]) {
      const refused = await query(f, sql);
      expect(refused.status, sql).toBe(403);
      expect(refused.json().error.code, sql).toBe("costly_query");
      expect((await query(f, sql, {}, "admin")).status, sql).toBe(200);
    }
    expect((await query(f, "SELECT hex(hex('ab'))", {}, "admin")).json().rows).toEqual([["36313632"]]);
  });

  it("refuses a viewer's query of more SELECTs than maxViewerSelects (nested subqueries or a chain of CTEs); an admin runs it", async () => {
    const f = await withNotes("one");
    const levels = INSPECTOR_LIMITS.maxViewerSelects;
    // Each level doubles the expression SQLite builds while it flattens the subqueries.
    const nested = (n: number) => `SELECT length(a) FROM ${Array.from({ length: n }, () => "(SELECT a||a AS a FROM ").join("")}(SELECT 'ab' AS a)${")".repeat(n)}`;
    const chain = (n: number) => `WITH t0(a) AS (SELECT 'ab')${Array.from({ length: n }, (_, i) => `, t${i + 1}(a) AS (SELECT a||a FROM t${i})`).join("")} SELECT length(a) FROM t${n}`;
    expect((await query(f, nested(levels - 2))).json().rows).toEqual([[2 * 2 ** (levels - 2)]]);
    expect((await query(f, chain(levels - 2))).json().rows).toEqual([[2 * 2 ** (levels - 2)]]);
    for (const sql of [nested(levels - 1), chain(levels - 1)]) {
      const refused = await query(f, sql);
      expect(refused.status, sql).toBe(403);
      expect(refused.json().error).toMatchObject({ code: "costly_query", message: expect.stringContaining("maxViewerSelects") });
      expect((await query(f, sql, {}, "admin")).json().rows, sql).toEqual([[2 * 2 ** (levels - 1)]]);
    }
    // Within 8 SELECTs, a column used many times at each level multiplies the expression per level.
    const wide = `SELECT length(a) FROM ${Array.from({ length: 6 }, () => `(SELECT ${Array.from({ length: 11 }, () => "a").join("||")} AS a FROM `).join("")}(SELECT 'ab' AS a)${")".repeat(6)}`;
    const refused = await query(f, wide);
    expect(refused.status).toBe(403);
    expect(refused.json().error).toMatchObject({ code: "costly_query", message: expect.stringContaining("maxViewerExpressionCopies") });
    // SELECT inside a literal or a comment is not counted.
    expect((await query(f, `SELECT '${"SELECT ".repeat(20)}' AS s -- ${"SELECT ".repeat(20)}`)).status).toBe(200);
  });

  it("cuts a long TEXT cell to its start and names its length; BLOBs, numbers and big integers as before", async () => {
    const f = await withNotes();
    const long = "x".repeat(100_000);
    await query(f, "INSERT INTO notes (body) VALUES (?)", { params: [long], write: true }, "admin");
    const cut = { $text: "x".repeat(INSPECTOR_LIMITS.maxCellChars), length: 100_000 };
    expect((await query(f, "SELECT body FROM notes")).json()).toEqual({ columns: ["body"], rows: [[cut]], rowsAffected: 0, truncated: false });
    const made = (await query(f, "SELECT hex(zeroblob(50000)) AS big, zeroblob(100) AS b, 'short' AS s, NULL AS n, 2.5 AS r, 9223372036854775807 AS i", {}, "admin")).json();
    expect(made.columns).toEqual(["big", "b", "s", "n", "r", "i"]);
    expect(made.rows).toEqual([[{ $text: "0".repeat(INSPECTOR_LIMITS.maxCellChars), length: 100_000 }, { $blob: "00".repeat(64), size: 100 }, "short", null, 2.5, "9223372036854775807"]]);
    // A table page cuts its cells the same way.
    expect((await f.api("/api/agents/Notebook/a/sql/tables/notes")).json().rows).toEqual([[1, cut, null]]);
  });

  it("cuts cells shorter when a query has many columns, so one row stays within the answer's budget", async () => {
    const f = await withNotes();
    await query(f, "INSERT INTO notes (body) VALUES (?)", { params: ["y".repeat(100_000)], write: true }, "admin");
    const columns = 200;
    const sql = `SELECT ${Array.from({ length: columns }, (_, i) => `body AS c${i}`).join(", ")} FROM notes`;
    const response = await query(f, sql);
    const cells = response.json().rows[0] as Array<{ $text: string; length: number }>;
    expect(cells).toHaveLength(columns);
    const kept = Math.floor(INSPECTOR_LIMITS.maxQueryResultBytes / (3 * columns));
    for (const cell of cells) expect(cell).toEqual({ $text: "y".repeat(kept), length: 100_000 });
    expect(Buffer.byteLength(response.text)).toBeLessThan(INSPECTOR_LIMITS.maxQueryResultBytes);
  });

  it("stops a query's answer at its byte budget and says it was truncated", async () => {
    const f = await withNotes();
    const sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT i, hex(zeroblob(5000)) FROM n";
    const response = await query(f, sql, {}, "admin");
    const result = response.json();
    expect(result.truncated).toBe(true);
    expect(result.rows.length).toBeGreaterThan(100);
    expect(result.rows.length).toBeLessThan(1000);
    expect(result.rows.at(-1)[0]).toBe(result.rows.length);
    expect(Buffer.byteLength(response.text)).toBeLessThanOrEqual(INSPECTOR_LIMITS.maxQueryResultBytes + 1024);
  });

  it("ends a table page at the byte budget; the next page goes on from there", async () => {
    const f = await withNotes();
    await fillNotes(f, 140, 70_000);
    const first = (await f.api("/api/agents/Notebook/a/sql/tables/notes?limit=500")).json();
    expect(first.rows.length).toBeGreaterThan(50);
    expect(first.rows.length).toBeLessThan(140);
    expect(first.rows[0][1]).toEqual({ $text: "x".repeat(INSPECTOR_LIMITS.maxCellChars), length: 70_000 });
    expect(first.next).not.toBeNull();
    const second = (await f.api(`/api/agents/Notebook/a/sql/tables/notes?limit=500&cursor=${first.next}`)).json();
    expect(second.rows[0][0]).toBe(first.rows.length + 1);
    expect(first.rows.length + second.rows.length).toBeLessThanOrEqual(140);
  });
});
