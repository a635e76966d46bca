import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { D1DatabaseConfig } from "../../src/config/types.ts";
import { D1Database, d1DatabasePath, runD1Command } from "../../src/d1/index.ts";

let project: string;
let lines: string[];
let databases: D1DatabaseConfig[];

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), "hearth-d1-cmd-"));
  lines = [];
  databases = [
    { binding: "DB", databaseName: "app-db", migrationsDir: join(project, "migrations"), migrationsTable: "d1_migrations" },
    { binding: "LOGS", databaseName: "logs", migrationsDir: join(project, "log-migrations"), migrationsTable: "applied" },
  ];
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

const run = (...argv: string[]) => runD1Command(argv, { databases, dataDir: ".hearth", cwd: project, out: (line) => lines.push(line) });
const output = () => lines.join("\n");

/** Reads the database file directly (the command has closed it). */
async function query<T = Record<string, unknown>>(name: string, sql: string): Promise<T[]> {
  const db = new D1Database({ path: d1DatabasePath(join(project, ".hearth"), name) });
  try {
    return (await db.prepare(sql).all<T>()).results;
  } finally {
    db.close();
  }
}

function writeMigration(name: string, sql: string, dir = join(project, "migrations")): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), sql);
}

describe("hearth d1 execute", () => {
  it("runs --command against <dataDir>/d1/<database_name>.sqlite, by binding or by name, and prints a table", async () => {
    expect(await run("execute", "DB", "--local", "--command", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b')")).toBe(0);
    expect(existsSync(join(project, ".hearth", "d1", "app-db.sqlite"))).toBe(true);
    lines = [];
    expect(await run("execute", "app-db", "--command", "SELECT id, v FROM t ORDER BY id")).toBe(0);
    expect(lines).toContain("│ id │ v │");
    expect(lines).toContain("│ 1  │ a │");
    expect(lines.at(-1)).toBe("1 command executed successfully (0 rows changed).");
  });

  it("runs --file (relative to the working directory) in one transaction", async () => {
    writeFileSync(join(project, "seed.sql"), "CREATE TABLE t (v TEXT NOT NULL);\nINSERT INTO t VALUES ('x');\n");
    expect(await run("execute", "DB", "--file", "seed.sql")).toBe(0);
    expect(output()).toContain("2 commands executed successfully (1 row changed).");
    writeFileSync(join(project, "bad.sql"), "INSERT INTO t VALUES ('lost');\nINSERT INTO t VALUES (NULL);\n");
    expect(await run("execute", "DB", "--file", "bad.sql")).toBe(1);
    expect(lines.at(-1)).toBe("✘ D1_ERROR: NOT NULL constraint failed: t.v: SQLITE_CONSTRAINT");
    expect(await query("app-db", "SELECT v FROM t")).toEqual([{ v: "x" }]);
  });

  it("prints results as JSON with --json, errors too", async () => {
    expect(await run("execute", "DB", "--json", "--command", "SELECT 1 AS one; SELECT 'a' AS letter")).toBe(0);
    const results = JSON.parse(output()) as Array<{ results: unknown[]; success: boolean; meta: { served_by: string } }>;
    expect(results.map((result) => result.results)).toEqual([[{ one: 1 }], [{ letter: "a" }]]);
    expect(results[0]!.success).toBe(true);
    expect(results[0]!.meta.served_by).toBe("hearth");
    lines = [];
    expect(await run("execute", "DB", "--json", "--command", "SELECT * FROM nope")).toBe(1);
    expect(JSON.parse(output())).toEqual({ error: { text: "D1_ERROR: no such table: nope: SQLITE_ERROR" } });
  });

  it.each([
    [["execute", "DB", "--remote", "--command", "SELECT 1"], "✘ --remote is not available: Hearth's D1 databases are local files; drop --remote (use wrangler for a database on Cloudflare)."],
    [["execute", "NOPE", "--command", "SELECT 1"], "✘ Couldn't find a D1 DB with the name or binding 'NOPE' in the wrangler config; d1_databases has: DB (app-db), LOGS (logs)."],
    [["execute", "DB"], '✘ Give the SQL with --command "<sql>" or --file <path> (one of them).'],
    [["execute", "DB", "--command", "-- nothing"], "✘ No SQL statements detected."],
    [["execute", "DB", "--file", "missing.sql"], "✘ Cannot read the SQL file"],
    [["execute", "DB", "--bogus"], "✘ Unknown option '--bogus'"],
    [["frobnicate", "DB"], '✘ Unknown command "d1 frobnicate": use execute or migrations (hearth d1 --help).'],
    [["migrations", "undo", "DB"], '✘ Unknown command "d1 migrations undo": use create, list or apply.'],
  ])("refuses %j with one clear line", async (argv, message) => {
    expect(await run(...argv)).toBe(1);
    expect(lines.at(-1)!.startsWith(message)).toBe(true);
  });

  it("prints the usage with --help", async () => {
    expect(await run("--help")).toBe(0);
    expect(lines[0]).toBe("Usage: hearth d1 <command> <database> [options]");
  });
});

describe("hearth d1 migrations", () => {
  it("create writes the next numbered file (wrangler's naming), creating the directory", async () => {
    expect(await run("migrations", "create", "DB", "create users")).toBe(0);
    expect(await run("migrations", "create", "DB", "add", "email")).toBe(0);
    writeMigration("0009_manual.sql", "SELECT 1;");
    expect(await run("migrations", "create", "DB", "later")).toBe(0);
    expect(readdirSync(join(project, "migrations")).sort()).toEqual(["0001_create_users.sql", "0002_add_email.sql", "0009_manual.sql", "0010_later.sql"]);
    expect(readFileSync(join(project, "migrations", "0001_create_users.sql"), "utf8")).toMatch(/^-- Migration number: 0001 \t \d{4}-\d\d-\d\dT/);
    expect(await run("migrations", "create", "DB", "../escape")).toBe(1);
    expect(await run("migrations", "create", "DB")).toBe(1);
  });

  it("list shows unapplied migrations in numeric order; apply applies them once, recorded in wrangler's table", async () => {
    writeMigration("0002_posts.sql", "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));\n");
    writeMigration("0001_users.sql", "-- users\nCREATE TABLE users (id INTEGER PRIMARY KEY,\n  email TEXT);\nINSERT INTO users (email) VALUES ('a@example.com');\n");
    writeMigration("10_late.sql", "CREATE INDEX posts_user ON posts (user_id);\n");
    writeMigration("notes.txt", "not a migration");
    expect(await run("migrations", "list", "DB")).toBe(0);
    expect(lines).toContain("│ 0001_users.sql │");
    expect(lines.findIndex((line) => line.includes("0002_posts")) < lines.findIndex((line) => line.includes("10_late"))).toBe(true);
    lines = [];
    expect(await run("migrations", "apply", "DB")).toBe(0);
    expect(lines).toEqual(["Applying 3 migrations to app-db:", "✔ 0001_users.sql", "✔ 0002_posts.sql", "✔ 10_late.sql"]);
    const applied = await query<{ id: number; name: string; applied_at: string }>("app-db", "SELECT * FROM d1_migrations ORDER BY id");
    expect(applied.map((row) => [row.id, row.name])).toEqual([[1, "0001_users.sql"], [2, "0002_posts.sql"], [3, "10_late.sql"]]);
    expect(applied[0]!.applied_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    lines = [];
    expect(await run("migrations", "apply", "DB")).toBe(0);
    expect(lines).toEqual(["No migrations to apply!"]);
    expect(await run("migrations", "list", "DB")).toBe(0);
    expect(lines.at(-1)).toBe("No migrations to apply!");
    expect(await query("app-db", "SELECT count(*) AS n FROM users")).toEqual([{ n: 1 }]);
  });

  it("a failing migration rolls back entirely and stops the ones after it", async () => {
    writeMigration("0001_ok.sql", "CREATE TABLE a (v);");
    writeMigration("0002_bad.sql", "CREATE TABLE b (v);\nINSERT INTO nope VALUES (1);");
    writeMigration("0003_after.sql", "CREATE TABLE c (v);");
    expect(await run("migrations", "apply", "DB")).toBe(1);
    expect(lines).toEqual([
      "Applying 3 migrations to app-db:",
      "✔ 0001_ok.sql",
      "✘ 0002_bad.sql",
      "Migration 0002_bad.sql failed and was rolled back; later migrations were not applied: D1_ERROR: no such table: nope: SQLITE_ERROR",
    ]);
    const tables = await query<{ name: string }>("app-db", "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c') ORDER BY name");
    expect(tables).toEqual([{ name: "a" }]);
    expect(await query("app-db", "SELECT name FROM d1_migrations")).toEqual([{ name: "0001_ok.sql" }]);
    writeMigration("0002_bad.sql", "CREATE TABLE b (v);");
    lines = [];
    expect(await run("migrations", "apply", "DB")).toBe(0);
    expect(lines).toEqual(["Applying 2 migrations to app-db:", "✔ 0002_bad.sql", "✔ 0003_after.sql"]);
  });

  it("uses the database's own migrations_dir and migrations_table", async () => {
    writeMigration("0001_logs.sql", "CREATE TABLE entries (line TEXT);", join(project, "log-migrations"));
    expect(await run("migrations", "apply", "LOGS")).toBe(0);
    expect(await query("logs", "SELECT name FROM applied")).toEqual([{ name: "0001_logs.sql" }]);
  });

  it("says so when the migrations directory does not exist", async () => {
    expect(await run("migrations", "apply", "DB")).toBe(1);
    expect(lines.at(-1)).toBe(`✘ No migrations present at ${join(project, "migrations")}.`);
  });
});
