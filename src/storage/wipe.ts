import type { AgentDatabase } from "./database.ts";

/** Tables Hearth keeps in every actor's file (identity, schedules, fibers…); user names may not start so. */
const INTERNAL_PREFIX = "_hearth_";
/** Internal tables holding the object's own data: emptied, not dropped. */
const INTERNAL_DATA_TABLES = ["_hearth_kv", "_hearth_state"];

interface SchemaObject {
  type: "table" | "index" | "view" | "trigger";
  name: string;
  sql: string | null;
}

/**
 * Removes everything an object stored in its database — every table, index, view and trigger it
 * created (the Agents SDK's `cf_agents_*` tables included: on Cloudflare they are ordinary tables
 * that `deleteAll()` removes), and its key-value entries — while the `_hearth_*` tables stay, so the
 * file keeps its identity and the host's machinery keeps working. Run inside a transaction.
 */
export function wipeDatabase(db: AgentDatabase): void {
  // Dropping a table deletes its rows first; with foreign keys on, a parent dropped before its
  // children would fail. Checks are deferred to the end of this block, where no user table is left.
  db.execScript("PRAGMA defer_foreign_keys = ON");
  try {
    dropAll(db, (object) => object.type === "trigger" || object.type === "view");
    // A virtual table drops its shadow tables with it; dropping those first is refused.
    dropAll(db, (object) => object.type === "table" && /^\s*CREATE\s+VIRTUAL\b/i.test(object.sql ?? ""));
    dropAll(db, (object) => object.type === "table");
    // Left: indexes a user put on internal tables.
    dropAll(db, (object) => object.type === "index" && object.sql !== null);
    db.execScript(INTERNAL_DATA_TABLES.map((table) => `DELETE FROM ${table};`).join("\n"));
  } finally {
    db.execScript("PRAGMA defer_foreign_keys = OFF");
  }
}

function dropAll(db: AgentDatabase, select: (object: SchemaObject) => boolean): void {
  const objects = (db.statement("SELECT type, name, sql FROM sqlite_master").all() as unknown as SchemaObject[]).filter(
    (object) => isUserObject(object.name) && select(object),
  );
  if (objects.length === 0) return;
  db.execScript(objects.map((object) => `DROP ${object.type.toUpperCase()} IF EXISTS ${quote(object.name)};`).join("\n"));
}

function isUserObject(name: string): boolean {
  const lower = name.toLowerCase();
  return !lower.startsWith(INTERNAL_PREFIX) && !lower.startsWith("sqlite_");
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
