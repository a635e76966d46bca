import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { D1Database } from "./database.ts";
import { scanStatements } from "../storage/sql-text.ts";

/** wrangler's table of applied migrations (`migrations_table`, default `d1_migrations`). */
export function createMigrationsTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The `.sql` files of the migrations directory, in wrangler's order (leading number, then name). */
export function migrationFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`No migrations present at ${dir}.`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".sql"))
    .map((entry) => entry.name)
    .sort(compareMigrationNames);
}

/** By leading number (`1_a` < `9_b` < `10_c`); numbered before unnumbered; then by name. */
export function compareMigrationNames(a: string, b: string): number {
  const numberA = leadingNumber(a);
  const numberB = leadingNumber(b);
  if (numberA !== numberB) {
    if (Number.isFinite(numberA) && Number.isFinite(numberB)) return numberA - numberB;
    if (Number.isFinite(numberA)) return -1;
    if (Number.isFinite(numberB)) return 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function leadingNumber(name: string): number {
  return Number.parseInt(name.split("_")[0]!, 10);
}

/**
 * Writes `<dir>/<NNNN>_<message>.sql` (the next number after the highest, 4 digits; spaces in the
 * message become `_`), creating the directory. Returns the file's name.
 */
export function createMigrationFile(dir: string, message: string, now: Date = new Date()): string {
  const slug = message.trim().replaceAll(" ", "_");
  if (slug === "" || /[/\\\0]/.test(slug) || slug.startsWith(".")) {
    throw new Error(`The migration message ${JSON.stringify(message)} cannot be part of a file name (no "/", "\\", leading "." or empty message).`);
  }
  mkdirSync(dir, { recursive: true });
  const numbers = migrationFiles(dir).map(leadingNumber).filter(Number.isFinite);
  const next = String(Math.max(0, ...numbers) + 1).padStart(4, "0");
  const name = `${next}_${slug}.sql`;
  writeFileSync(join(dir, name), `-- Migration number: ${next} \t ${now.toISOString()}\n`, { flag: "wx" });
  return name;
}

/** Names recorded in the migrations table (creating the table when missing, as wrangler does). */
export async function appliedMigrations(db: D1Database, table: string): Promise<string[]> {
  await db.prepare(createMigrationsTableSql(table)).run();
  const rows = await db.prepare(`SELECT name FROM ${quoteIdentifier(table)} ORDER BY id`).raw<[string]>();
  return rows.map((row) => row[0]);
}

/** The migration files not yet recorded, in order. */
export async function unappliedMigrations(db: D1Database, dir: string, table: string): Promise<string[]> {
  const applied = new Set(await appliedMigrations(db, table));
  return migrationFiles(dir).filter((name) => !applied.has(name));
}

/**
 * Applies one migration: its statements and the row recording it, in one transaction (a failing
 * statement rolls the whole migration back, and it stays unapplied).
 */
export async function applyMigration(db: D1Database, dir: string, table: string, name: string): Promise<void> {
  const sql = readFileSync(join(dir, name), "utf8");
  const statements = scanStatements(sql).map((statement) => db.prepare(statement.text));
  statements.push(db.prepare(`INSERT INTO ${quoteIdentifier(table)} (name) VALUES (?)`).bind(name));
  await db.batch(statements);
}
