/**
 * The stream of the running turn, chunk by chunk, in the agent's own SQLite: each chunk is written
 * before it is broadcast (the output gate sends it once the write is committed), so a client that
 * reconnects gets everything it missed, even after a restart. The rows go when the turn completes;
 * a turn cut short by a restart stays as "interrupted" until the next turn or a clear, and one that
 * ended in an error stays as "error" (with its error) until the next turn starts, so late clients
 * can still replay it and learn how it ended.
 */
import type { SqlTag } from "../storage/sql.ts";

export type StreamStatus = "streaming" | "interrupted" | "error";

/** One stored stream: the chunks of a turn plus what its frames need. */
export interface StoredStream {
  requestId: string;
  status: StreamStatus;
  continuation: boolean;
  /** The user messages the request answered (echoed on terminal frames). */
  messageIds: string[] | undefined;
  /** The message the turn answered: its reply goes right after it. */
  anchorId: string | undefined;
  /** The assistant message the turn continues, when it continues one. */
  baseId: string | undefined;
  /** How a stream with status "error" ended. */
  error?: string;
}

interface StreamRow {
  request_id: string;
  status: string;
  continuation: number;
  message_ids: string | null;
  anchor_id: string | null;
  base_id: string | null;
  error: string | null;
}

const PAGE = 500;

export class StreamStore {
  readonly #sql: SqlTag;
  readonly #now: () => number;
  #nextSeq = 0;

  constructor(sql: SqlTag, now: () => number) {
    this.#sql = sql;
    this.#now = now;
  }

  /** Opens the stream of a turn; any earlier stream (an interrupted one) is dropped. */
  start(stream: Omit<StoredStream, "status" | "error">): void {
    this.clearAll();
    this.#sql`INSERT INTO hearth_chat_streams (request_id, status, continuation, message_ids, anchor_id, base_id, started_at)
      VALUES (${stream.requestId}, 'streaming', ${stream.continuation ? 1 : 0},
        ${stream.messageIds ? JSON.stringify(stream.messageIds) : null}, ${stream.anchorId ?? null}, ${stream.baseId ?? null}, ${this.#now()})`;
    this.#nextSeq = 0;
  }

  /** Stores one chunk body; returns its index in the stream. */
  append(requestId: string, body: string): number {
    const seq = this.#nextSeq++;
    this.#sql`INSERT INTO hearth_chat_chunks (request_id, seq, body) VALUES (${requestId}, ${seq}, ${body})`;
    return seq;
  }

  /** The turn completed: its chunks are no longer needed (its message is stored). */
  finish(requestId: string): void {
    this.#sql`DELETE FROM hearth_chat_chunks WHERE request_id = ${requestId}`;
    this.#sql`DELETE FROM hearth_chat_streams WHERE request_id = ${requestId}`;
  }

  /**
   * The turn ended in an error: its chunks stay, with the error, for clients that reconnect (the
   * resume handshake replays them and the error, as the Agents SDK does). A turn that failed before
   * it streamed anything gets a stream of no chunks, and so does one whose reply was not stored
   * (`chunks: "drop"`): only its error is replayed.
   */
  fail(stream: Omit<StoredStream, "status" | "error">, error: string, chunks: "keep" | "drop" = "keep"): void {
    if (this.current()?.requestId !== stream.requestId) this.start(stream);
    if (chunks === "drop") this.#sql`DELETE FROM hearth_chat_chunks WHERE request_id = ${stream.requestId}`;
    this.#sql`UPDATE hearth_chat_streams SET status = 'error', error = ${error} WHERE request_id = ${stream.requestId}`;
  }

  /** A new turn starts: the error of the last one is no longer the conversation's latest outcome. */
  dropFailed(): void {
    for (const { request_id } of this.#sql<{ request_id: string }>`SELECT request_id FROM hearth_chat_streams WHERE status = 'error'`) {
      this.finish(request_id);
    }
  }

  /** The stored stream, if any (there is at most one: turns run one at a time). */
  current(): StoredStream | undefined {
    const row = this.#sql<StreamRow>`SELECT request_id, status, continuation, message_ids, anchor_id, base_id, error
      FROM hearth_chat_streams ORDER BY started_at DESC LIMIT 1`[0];
    if (!row) return undefined;
    return {
      requestId: row.request_id,
      status: row.status === "streaming" || row.status === "error" ? row.status : "interrupted",
      continuation: row.continuation === 1,
      messageIds: row.message_ids ? (JSON.parse(row.message_ids) as string[]) : undefined,
      anchorId: row.anchor_id ?? undefined,
      baseId: row.base_id ?? undefined,
      ...(row.status === "error" ? { error: row.error ?? "the reply ended with an error" } : {}),
    };
  }

  /** Marks a stream whose turn can no longer run (the process that ran it is gone). */
  markInterrupted(requestId: string): void {
    this.#sql`UPDATE hearth_chat_streams SET status = 'interrupted' WHERE request_id = ${requestId}`;
  }

  /** The stored chunk bodies in order, read a page at a time. */
  *chunks(requestId: string): Generator<string> {
    let after = -1;
    for (;;) {
      const rows = this.#sql<{ seq: number; body: string }>`SELECT seq, body FROM hearth_chat_chunks
        WHERE request_id = ${requestId} AND seq > ${after} ORDER BY seq LIMIT ${PAGE}`;
      for (const row of rows) yield row.body;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.seq;
    }
  }

  clearAll(): void {
    this.#sql`DELETE FROM hearth_chat_chunks`;
    this.#sql`DELETE FROM hearth_chat_streams`;
  }
}
