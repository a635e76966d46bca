/**
 * Every chat table, created by one script the first time an agent's chat is used (see
 * `ChatEngine`). An agent that never chats has none, and its wakes skip the chat entirely.
 */
import type { SqlTag } from "../storage/sql.ts";
import { addMissingColumns, type AddedColumn } from "../storage/added-columns.ts";

export const CHAT_SCHEMA = `
CREATE TABLE IF NOT EXISTS hearth_chat_messages (
  id TEXT PRIMARY KEY, position INTEGER NOT NULL, role TEXT NOT NULL, message TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS hearth_chat_messages_position ON hearth_chat_messages (position);
CREATE TABLE IF NOT EXISTS hearth_chat_streams (
  request_id TEXT PRIMARY KEY, status TEXT NOT NULL, continuation INTEGER NOT NULL, message_ids TEXT,
  anchor_id TEXT, base_id TEXT, started_at INTEGER NOT NULL, error TEXT
);
CREATE TABLE IF NOT EXISTS hearth_chat_chunks (
  request_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hearth_chat_usage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, at INTEGER NOT NULL, model TEXT,
  input_tokens INTEGER, output_tokens INTEGER, total_tokens INTEGER, reasoning_tokens INTEGER, cached_input_tokens INTEGER
);
CREATE TABLE IF NOT EXISTS hearth_chat_usage_totals (
  id INTEGER PRIMARY KEY CHECK (id = 1), calls INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hearth_chat_context (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hearth_chat_turns (
  request_id TEXT PRIMARY KEY, continuation INTEGER NOT NULL, message_ids TEXT, root_request_id TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hearth_chat_incidents (
  root_request_id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL,
  attempt INTEGER NOT NULL, first_seen_at INTEGER NOT NULL, last_attempt_at INTEGER NOT NULL,
  last_progress_at INTEGER NOT NULL, work INTEGER NOT NULL
);`;

/** A table of the chat schema: present when the chat tables exist (the script creates them together). */
export const CHAT_STREAMS_TABLE = "hearth_chat_streams";

/** Columns added after the tables were first created: an older agent's tables get them when its chat starts. */
const ADDED_COLUMNS: readonly AddedColumn[] = [{ table: "hearth_chat_streams", column: "error", type: "TEXT" }];

/** Creates the chat tables, or brings an older agent's up to date. */
export function ensureChatSchema(sql: SqlTag, execScript: (script: string) => void): void {
  execScript(CHAT_SCHEMA);
  addMissingColumns(ADDED_COLUMNS, sql, execScript);
}
