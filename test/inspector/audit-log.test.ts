/**
 * The audit log keeps what a change did whatever its size: the outcome in its own column, each long
 * detail field cut to its start and end with the SHA-256 of the whole.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/inspector/audit.ts";
import { INSPECTOR_LIMITS } from "../../src/inspector/limits.ts";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const half = INSPECTOR_LIMITS.maxAuditFieldChars / 2;

async function write(f: Fixture, sql: string) {
  return f.api("/api/agents/Notebook/a/sql/query", { method: "POST", as: "admin", body: { sql, write: true } });
}

describe("inspector audit log", () => {
  it("keeps a padded SQL write's outcome, its end, its statements and the hash of the whole", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").note("doomed");
    const sql = `/* ${"x".repeat(17_000)} */ DELETE FROM notes`;
    expect((await write(fixture, sql)).json().rowsAffected).toBe(1);
    const [row] = (await fixture.api("/api/audit")).json().items;
    expect(row).toMatchObject({ action: "sql.write", target: "Notebook/a", ok: true, detail: { ok: true, params: null, statements: ["DELETE"] } });
    expect(row.detail.sql).toEqual({ $cut: true, chars: sql.length, sha256: sha256(sql), head: sql.slice(0, half), tail: sql.slice(-half) });
    expect(row.detail.sql.tail.endsWith("*/ DELETE FROM notes")).toBe(true);
  });

  it("keeps a padded failing write's error", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").note("kept");
    const sql = `DELETE FROM notes; /* ${"y".repeat(17_000)} */ DELETE FROM nope`;
    expect((await write(fixture, sql)).status).toBe(400);
    const [row] = (await fixture.api("/api/audit")).json().items;
    const error = expect.stringMatching(/^no such table: nope/);
    expect(row).toMatchObject({ ok: false, error, detail: { ok: false, error, statements: ["DELETE", "DELETE"] } });
    expect(row.detail.sql.tail.endsWith("DELETE FROM nope")).toBe(true);
  });

  it("cuts a long error to its start and end too", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-audit-"));
    dirs.push(dir);
    const audit = new AuditLog(join(dir, "audit.sqlite"));
    const error = `${"e".repeat(20_000)} the end`;
    audit.append({ at: 1, role: "admin", action: "method.invoke", target: "Notebook/a.fail", ok: false, error, detail: { args: [] } });
    const [row] = audit.page(undefined, 10).items;
    expect(row!.error).toBe(`${error.slice(0, half)} … [${error.length} characters, cut; SHA-256 ${sha256(error)}] … ${error.slice(-half)}`);
    audit.close();
  });

  it("reads an audit file written before outcomes had their own columns, and appends to it", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-audit-"));
    dirs.push(dir);
    const path = join(dir, "audit.sqlite");
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
      target TEXT NOT NULL, detail TEXT NOT NULL, before_hash TEXT, after_hash TEXT)`);
    const insert = old.prepare("INSERT INTO audit (at, role, action, target, detail) VALUES (?, 'admin', 'sql.write', 'Notebook/a', ?)");
    insert.run(1, JSON.stringify({ sql: "DELETE FROM notes", ok: false, error: "locked" }));
    insert.run(2, JSON.stringify({ truncated: true, start: '{"sql":"/* …' }));
    old.close();
    const audit = new AuditLog(path);
    audit.append({ at: 3, role: "admin", action: "state.set", target: "Notebook/a", ok: true, detail: {} });
    const items = audit.page(undefined, 10).items;
    expect(items.map((item) => [item.at, item.ok, item.error])).toEqual([
      [3, true, undefined],
      [2, null, undefined],
      [1, false, "locked"],
    ]);
    expect(items[2]!.detail).toEqual({ sql: "DELETE FROM notes", ok: false, error: "locked" });
    audit.close();
  });
});
