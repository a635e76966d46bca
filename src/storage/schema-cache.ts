import type { DatabaseSync } from "node:sqlite";
import { leadingLength } from "./refused-statements.ts";
import { STATE_TABLE } from "./statement-cache.ts";

/** A statement that can only add to the schema: CREATE TABLE, INDEX, VIEW or TRIGGER (not VIRTUAL, whose shadow tables its text does not name). */
const ADDS_ONLY = /^CREATE\s+(?:(?:TEMP|TEMPORARY)\s+)?(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b/i;
/** A name a CREATE statement's text must contain to create a table of it (no quote or escape can spell it otherwise). */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** CREATE statements remembered since the last read; past this many the schema is read again when next asked. */
const MAX_ADDITIONS = 16;

/**
 * What a file's schema holds, read from sqlite_master once and kept until it may have changed: its
 * tables — the capabilities of an agent each ask at start-up whether they have anything stored, and
 * most have not — and whether a trigger names the state table, whose rows may then change with
 * statements that do not name it.
 *
 * A statement that can only add (`CREATE TABLE IF NOT EXISTS …`, run by many agents in every
 * `onStart` or even every request) does not throw the knowledge away: a table already known stays,
 * a table asked about is new only if the statement's text names it, and a trigger on the state table
 * only if the text names that table. A DROP, an ALTER, a rollback or a script of anything else forgets
 * it all.
 * @example
 * const schema = new SchemaCache();
 * schema.hasTable(() => db, "_hearth_schedules");
 */
export class SchemaCache {
  #tables: Set<string> | undefined;
  /** Known (with {@link #tables}) or unknown. */
  #stateTriggers: boolean | undefined;
  /** Lower-cased texts of the CREATE statements run since {@link #tables} was read. */
  readonly #additions = new Set<string>();

  /** The schema may have changed in any way: it is read again when next asked. */
  forget(): void {
    this.#tables = undefined;
    this.#stateTriggers = undefined;
    this.#additions.clear();
  }

  /**
   * `query`, which SQLite treats as changing the schema, ran (or is about to): remembered when it can
   * only add, else the schema is forgotten.
   */
  changed(query: string): void {
    if (this.#tables === undefined) return;
    const text = query.slice(leadingLength(query));
    if (!ADDS_ONLY.test(text) || this.#additions.size >= MAX_ADDITIONS) return this.forget();
    this.#additions.add(text.toLowerCase());
    if (STATE_TABLE.test(text)) this.#stateTriggers = undefined;
  }

  /** A script of `statements` ran (or stopped part way): remembered when each can only add, else the schema is forgotten. */
  scriptRan(statements: readonly string[]): void {
    if (statements.every((statement) => ADDS_ONLY.test(statement.slice(leadingLength(statement))))) for (const statement of statements) this.changed(statement);
    else this.forget();
  }

  /** A file just made from the template: these tables, no triggers. */
  knowTemplate(tables: readonly string[]): void {
    this.#tables = new Set(tables);
    this.#stateTriggers = false;
    this.#additions.clear();
  }

  /** `db` opens the connection, when the schema must be read. */
  hasTable(db: () => DatabaseSync, name: string): boolean {
    const tables = this.#tables;
    if (tables !== undefined && (tables.has(name) || !this.#mayHaveAdded(name))) return tables.has(name);
    return this.#read(db).tables.has(name);
  }

  /** Whether a trigger's text names the state table. */
  stateTableHasTriggers(db: () => DatabaseSync): boolean {
    return this.#stateTriggers ?? this.#read(db).stateTriggers;
  }

  #mayHaveAdded(name: string): boolean {
    if (this.#additions.size === 0) return false;
    if (!PLAIN_NAME.test(name)) return true;
    const lower = name.toLowerCase();
    for (const text of this.#additions) if (text.includes(lower)) return true;
    return false;
  }

  #read(db: () => DatabaseSync): { tables: Set<string>; stateTriggers: boolean } {
    const rows = db().prepare("SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'trigger')").all() as Array<{ type: string; name: string; sql: string | null }>;
    const tables = new Set(rows.filter((row) => row.type === "table").map((row) => row.name));
    const stateTriggers = rows.some((row) => row.type === "trigger" && STATE_TABLE.test(row.sql ?? ""));
    this.#tables = tables;
    this.#stateTriggers = stateTriggers;
    this.#additions.clear();
    return { tables, stateTriggers };
  }
}
