/**
 * The conversation in the agent's own SQLite: one row per message, ordered by position, upserted by
 * id. There is no row-size wall on the history as a whole: a long conversation is many rows. The
 * list is kept in memory too, with each row's last written JSON, so unchanged messages are not
 * written again.
 */
import type { UIMessage } from "ai";
import type { SqlTag } from "../storage/sql.ts";

interface Row {
  id: string;
  position: number;
  message: string;
}

interface Cached {
  json: string;
  position: number;
}

export class MessageStore<M extends UIMessage> {
  readonly #sql: SqlTag;
  readonly #now: () => number;
  readonly #maxBytes: () => number;
  #messages: M[] | undefined;
  readonly #written = new Map<string, Cached>();

  /** `maxBytes`: the largest conversation (all messages as JSON) a write may leave. */
  constructor(sql: SqlTag, now: () => number, maxBytes: () => number) {
    this.#sql = sql;
    this.#now = now;
    this.#maxBytes = maxBytes;
    sql`CREATE TABLE IF NOT EXISTS hearth_chat_messages (
      id TEXT PRIMARY KEY,
      position INTEGER NOT NULL,
      role TEXT NOT NULL,
      message TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`;
    sql`CREATE INDEX IF NOT EXISTS hearth_chat_messages_position ON hearth_chat_messages (position)`;
  }

  /** The conversation in order (the store's own array: callers copy before changing it). */
  get list(): readonly M[] {
    if (this.#messages === undefined) this.#load();
    return this.#messages!;
  }

  find(id: string): M | undefined {
    return this.list.find((message) => message.id === id);
  }

  /**
   * Makes the stored conversation exactly `messages`, in that order: writes the rows that changed,
   * deletes the ones no longer present. With `keepLast`, only the newest that many are kept.
   * Throws {@link ConversationTooLargeError}, writing nothing, when the result would be larger
   * than `maxConversationBytes`.
   */
  replaceAll(messages: readonly M[], keepLast?: number): void {
    const kept = keepLast !== undefined && messages.length > keepLast ? messages.slice(messages.length - keepLast) : messages;
    if (this.#messages === undefined) this.#load(); // the cache is compared with below
    const jsons = kept.map((message) => JSON.stringify(message));
    const bytes = jsons.reduce((sum, json) => sum + Buffer.byteLength(json), 0);
    const limit = this.#maxBytes();
    if (bytes > limit) throw new ConversationTooLargeError(bytes, limit);
    const now = this.#now();
    const present = new Set<string>();
    kept.forEach((message, position) => {
      present.add(message.id);
      const json = jsons[position]!;
      const cached = this.#written.get(message.id);
      if (cached?.json === json && cached.position === position) return;
      if (cached === undefined) {
        this.#sql`INSERT INTO hearth_chat_messages (id, position, role, message, created_at, updated_at)
          VALUES (${message.id}, ${position}, ${message.role}, ${json}, ${now}, ${now})
          ON CONFLICT (id) DO UPDATE SET position = excluded.position, role = excluded.role,
            message = excluded.message, updated_at = excluded.updated_at`;
      } else if (cached.json === json) {
        this.#sql`UPDATE hearth_chat_messages SET position = ${position} WHERE id = ${message.id}`;
      } else {
        this.#sql`UPDATE hearth_chat_messages SET position = ${position}, role = ${message.role}, message = ${json},
          updated_at = ${now} WHERE id = ${message.id}`;
      }
      this.#written.set(message.id, { json, position });
    });
    for (const id of [...this.#written.keys()]) {
      if (present.has(id)) continue;
      this.#sql`DELETE FROM hearth_chat_messages WHERE id = ${id}`;
      this.#written.delete(id);
    }
    this.#messages = [...kept];
  }

  /** Replaces the message with the same id in place, or adds it after `anchorId` (at the end when absent). */
  put(message: M, anchorId: string | undefined, keepLast?: number): void {
    const list = [...this.list];
    const index = list.findIndex((m) => m.id === message.id);
    if (index >= 0) list[index] = message;
    else {
      const anchor = anchorId === undefined ? -1 : list.findIndex((m) => m.id === anchorId);
      if (anchor >= 0) list.splice(anchor + 1, 0, message);
      else list.push(message);
    }
    this.replaceAll(list, keepLast);
  }

  clear(): void {
    this.#sql`DELETE FROM hearth_chat_messages`;
    this.#written.clear();
    this.#messages = [];
  }

  /** Drops the in-memory copy (after a rollback); the next read loads the rows again. */
  invalidate(): void {
    this.#messages = undefined;
    this.#written.clear();
  }

  #load(): void {
    const rows = this.#sql<Row>`SELECT id, position, message FROM hearth_chat_messages ORDER BY position, created_at`;
    const messages: M[] = [];
    this.#written.clear();
    for (const row of rows) {
      let message: M;
      try {
        message = JSON.parse(row.message) as M;
      } catch {
        console.error(`[hearth] chat message ${row.id} is not valid JSON; it is left out and removed on the next save`);
        this.#written.set(row.id, { json: "", position: -1 });
        continue;
      }
      // Positions are rewritten on the next save, so a gap or a tie left by a crash heals itself.
      this.#written.set(row.id, { json: row.message, position: row.position });
      messages.push(message);
    }
    this.#messages = messages;
  }
}

/** A write that would make the stored conversation larger than `maxConversationBytes`. */
export class ConversationTooLargeError extends Error {
  constructor(bytes: number, limit: number) {
    super(`the conversation would be ${bytes} bytes of JSON; the limit is ${limit} (maxConversationBytes)`);
    this.name = "ConversationTooLargeError";
  }
}
