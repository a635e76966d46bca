/**
 * Which PRAGMAs the SQL console runs. A PRAGMA that sets something acts on the agent's own
 * connection or on its file's header, and neither is undone by the savepoint a query runs in: so the
 * console runs a PRAGMA only in a form that reads, in read mode and with `write: true` alike.
 *
 * With `write: true` the reason is how Hearth uses the file: `user_version` is the schema version
 * Hearth checks at every open (7 makes the agent unopenable, "written by a newer Hearth"),
 * `application_id` marks a file written without fsync, and the connection's settings (`query_only`,
 * `journal_mode`, `locking_mode`, `synchronous`, `foreign_keys`, `wal_autocheckpoint`, …) are chosen
 * by Hearth and stay set after the write, for every later event of the agent.
 */

/** PRAGMAs that take a table or index to describe, allowed with that argument (`PRAGMA table_info(t)`). */
const DESCRIBING_PRAGMAS = new Set([
  "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
  "foreign_key_check", "integrity_check", "quick_check",
]);
/** PRAGMAs allowed bare (`PRAGMA page_count`): each only tells its value then. */
const READING_PRAGMAS = new Set([
  ...DESCRIBING_PRAGMAS, "database_list", "collation_list", "function_list", "pragma_list", "compile_options", "page_count",
  "page_size", "freelist_count", "user_version", "schema_version", "data_version", "journal_mode", "encoding", "application_id",
  "foreign_keys", "synchronous", "cache_size", "auto_vacuum", "max_page_count", "locking_mode", "temp_store", "wal_autocheckpoint",
]);
/** A PRAGMA in the one shape allowed: `PRAGMA [schema.]name` or `PRAGMA [schema.]name(argument)`. */
const PRAGMA_SHAPE = /^PRAGMA\s+(?:(?:\w+|"\w+")\s*\.\s*)?(?:"(\w+)"|\[(\w+)\]|`(\w+)`|(\w+))\s*(\(\s*(?:\w+|'[^']*'|"[^"]*")\s*\))?\s*;?\s*$/i;

/**
 * Whether `body` (a PRAGMA statement, from its keyword on) only reads, and the PRAGMA's name when it
 * can be told. No comment inside, one exact shape, a name known to only read in that shape.
 * @example readingPragma("PRAGMA table_info(notes)") // { reads: true, name: "table_info" }
 */
export function readingPragma(body: string): { reads: boolean; name: string | undefined } {
  const shape = /--|\/\*/.test(body) ? null : PRAGMA_SHAPE.exec(body);
  const name = (shape?.[1] ?? shape?.[2] ?? shape?.[3] ?? shape?.[4] ?? "").toLowerCase();
  const reads = shape !== null && (shape[5] === undefined ? READING_PRAGMAS.has(name) : DESCRIBING_PRAGMAS.has(name));
  return { reads, name: name || /^PRAGMA\s+(?:[\w"]+\s*\.\s*)?["[`]?(\w+)/i.exec(body)?.[1]?.toLowerCase() };
}
