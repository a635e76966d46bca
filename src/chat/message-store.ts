/**
 * The conversation in the agent's own SQLite: one row per message, ordered by position, upserted by
 * id. There is no row-size wall on the history as a whole: a long conversation is many rows. The
 * list is kept in memory too, with each row's last written JSON, so unchanged messages are not
 * written again.
 */
import type { UIMessage } from "ai";
import type { SqlTag } from "../storage/sql.ts";
import { conversationTooLarge } from "./limits.ts";

interface Row {
  id: string;
  position: number;
  message: string;
}

interface Cached {
  json: string;
  position: number;
  /** UTF-8 length of `json`. */
  bytes: number;
}

export class MessageStore<M extends UIMessage> {
  readonly #sql: SqlTag;
  readonly #now: () => number;
  readonly #maxBytes: () => number;
  #messages: M[] | undefined;
  readonly #written = new Map<string, Cached>();
  /** Sum of the cached rows' `bytes`: the size of the stored conversation as JSON. */
  #bytes = 0;
  /** Every row is cached with valid JSON at the position of its message in the list (as a save leaves them). */
  #even = true;

  /** `maxBytes`: the largest conversation (all messages as JSON) a write may leave. */
  constructor(sql: SqlTag, now: () => number, maxBytes: () => number) {
    this.#sql = sql;
    this.#now = now;
    this.#maxBytes = maxBytes;
  }

  /** The conversation in order (the store's own array: callers copy before changing it). */
  get list(): readonly M[] {
    if (this.#messages === undefined) this.#load();
    return this.#messages!;
  }

  /** The size of the stored conversation (all messages as JSON), in bytes. */
  get bytes(): number {
    if (this.#messages === undefined) this.#load();
    return this.#bytes;
  }

  find(id: string): M | undefined {
    return this.list.find((message) => message.id === id);
  }

  /** The newest message: one row read when the list is not loaded yet (start-up checks). */
  last(): M | undefined {
    if (this.#messages !== undefined) return this.#messages.at(-1);
    const [row] = this.#sql<Row>`SELECT id, position, message FROM hearth_chat_messages ORDER BY position DESC, created_at DESC LIMIT 1`;
    if (!row) return undefined;
    try {
      return JSON.parse(row.message) as M;
    } catch {
      return this.list.at(-1); // the full load leaves the broken row out (and says so)
    }
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
    const sizes = jsons.map((json, position) => {
      const cached = this.#written.get(kept[position]!.id);
      return cached?.json === json ? cached.bytes : Buffer.byteLength(json);
    });
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    const limit = this.#maxBytes();
    if (bytes > limit) throw new ConversationTooLargeError(bytes, limit);
    const present = new Set<string>();
    kept.forEach((message, position) => {
      present.add(message.id);
      this.#write(message, position, jsons[position]!, sizes[position]!);
    });
    for (const id of [...this.#written.keys()]) {
      if (present.has(id)) continue;
      this.#sql`DELETE FROM hearth_chat_messages WHERE id = ${id}`;
      this.#forget(id);
    }
    this.#messages = [...kept];
    this.#even = true;
  }

  /** Replaces the message with the same id in place, or adds it after `anchorId` (at the end when absent). */
  put(message: M, anchorId: string | undefined, keepLast?: number): void {
    const list = [...this.list];
    let index = list.findIndex((m) => m.id === message.id);
    const added = index < 0;
    if (added) {
      const anchor = anchorId === undefined ? -1 : list.findIndex((m) => m.id === anchorId);
      index = anchor >= 0 ? anchor + 1 : list.length;
      list.splice(index, 0, message);
    } else list[index] = message;
    // Pruning, or rows left uneven by a crash (a broken row, gaps in positions): the full save sorts them out.
    if (!this.#even || (keepLast !== undefined && list.length > keepLast)) return this.replaceAll(list, keepLast);
    // Only this message is serialised; the total is adjusted by the difference, and the messages
    // after an added one only move down a position.
    const json = JSON.stringify(message);
    const cached = this.#written.get(message.id);
    const size = cached?.json === json ? cached.bytes : Buffer.byteLength(json);
    const bytes = this.#bytes - (cached?.bytes ?? 0) + size;
    const limit = this.#maxBytes();
    if (bytes > limit) throw new ConversationTooLargeError(bytes, limit);
    this.#write(message, index, json, size);
    if (added) {
      for (let position = index + 1; position < list.length; position++) {
        const moved = list[position]!;
        const row = this.#written.get(moved.id)!;
        this.#write(moved, position, row.json, row.bytes);
      }
    }
    this.#messages = list;
  }

  clear(): void {
    this.#sql`DELETE FROM hearth_chat_messages`;
    this.#written.clear();
    this.#bytes = 0;
    this.#messages = [];
    this.#even = true;
  }

  /** Drops the in-memory copy (after a rollback); the next read loads the rows again. */
  invalidate(): void {
    this.#messages = undefined;
    this.#written.clear();
    this.#bytes = 0;
  }

  /** Writes one message's row at `position` unless the row already holds exactly that. */
  #write(message: M, position: number, json: string, bytes: number): void {
    const cached = this.#written.get(message.id);
    if (cached?.json === json && cached.position === position) return;
    const now = this.#now();
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
    this.#remember(message.id, { json, position, bytes });
  }

  #remember(id: string, cached: Cached): void {
    this.#bytes += cached.bytes - (this.#written.get(id)?.bytes ?? 0);
    this.#written.set(id, cached);
  }

  #forget(id: string): void {
    this.#bytes -= this.#written.get(id)?.bytes ?? 0;
    this.#written.delete(id);
  }

  #load(): void {
    const rows = this.#sql<Row>`SELECT id, position, message FROM hearth_chat_messages ORDER BY position, created_at`;
    const messages: M[] = [];
    this.#written.clear();
    this.#bytes = 0;
    let even = true;
    for (const row of rows) {
      let message: M;
      try {
        message = JSON.parse(row.message) as M;
      } catch {
        console.error(`[hearth] chat message ${row.id} is not valid JSON; it is left out and removed on the next save`);
        this.#remember(row.id, { json: "", position: -1, bytes: 0 });
        even = false;
        continue;
      }
      // Positions are rewritten on the next save, so a gap or a tie left by a crash heals itself.
      this.#remember(row.id, { json: row.message, position: row.position, bytes: Buffer.byteLength(row.message) });
      if (row.position !== messages.length) even = false;
      messages.push(message);
    }
    this.#messages = messages;
    this.#even = even;
  }
}

/** A write that would make the stored conversation larger than `maxConversationBytes`. */
export class ConversationTooLargeError extends Error {
  constructor(bytes: number, limit: number) {
    super(conversationTooLarge(bytes, limit));
    this.name = "ConversationTooLargeError";
  }
}
