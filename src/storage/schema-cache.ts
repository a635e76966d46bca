import type { DatabaseSync } from "node:sqlite";
import { STATE_TABLE } from "./statement-cache.ts";

/**
 * What a file's schema holds, read from sqlite_master once and kept until it may have changed (a
 * script, a CREATE/DROP/ALTER statement, a rollback): its tables — the capabilities of an agent each
 * ask at start-up whether they have anything stored, and most have not — and whether a trigger names
 * the state table, whose rows may then change with statements that do not name it.
 * @example
 * const schema = new SchemaCache();
 * schema.hasTable(() => db, "_hearth_schedules");
 */
export class SchemaCache {
  #tables: Set<string> | undefined;
  #stateTriggers = false;

  /** The schema may have changed: it is read again when next asked. */
  forget(): void {
    this.#tables = undefined;
  }

  /** A file just made from the template: these tables, no triggers. */
  knowTemplate(tables: readonly string[]): void {
    this.#tables = new Set(tables);
    this.#stateTriggers = false;
  }

  /** `db` opens the connection, when the schema must be read. */
  hasTable(db: () => DatabaseSync, name: string): boolean {
    return this.#read(db).has(name);
  }

  /** Whether a trigger's text names the state table. */
  stateTableHasTriggers(db: () => DatabaseSync): boolean {
    this.#read(db);
    return this.#stateTriggers;
  }

  #read(db: () => DatabaseSync): Set<string> {
    if (this.#tables !== undefined) return this.#tables;
    const rows = db().prepare("SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'trigger')").all() as Array<{ type: string; name: string; sql: string | null }>;
    this.#tables = new Set(rows.filter((row) => row.type === "table").map((row) => row.name));
    this.#stateTriggers = rows.some((row) => row.type === "trigger" && STATE_TABLE.test(row.sql ?? ""));
    return this.#tables;
  }
}
