import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import type { SqlTag } from "../../storage/sql.ts";

/** Events kept per session for replay (Last-Event-ID); older ones are dropped. */
export const MAX_STORED_EVENTS = 1_000;
/** Bytes of messages kept per session for replay; the oldest go first, the newest event is always kept. */
export const MAX_STORED_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * Resumability for Streamable HTTP: every message sent on a session's SSE streams is stored in the
 * session agent's own SQLite, so a client that lost its stream — even across a hibernation or a
 * restart — reconnects with `Last-Event-ID` and receives what it missed.
 *
 * Event ids are `<stream id>:<16 hex digits>`, as on Cloudflare: the stream is named by the id itself,
 * so a resume from an event already trimmed still finds its stream and replays what is kept after it.
 */
export class SqlEventStore implements EventStore {
  readonly #sql: SqlTag;
  /** While a session is being restored, its replayed handshake must not be recorded. */
  paused = false;
  /** Bytes of the messages kept, read from the table at this instance's first event. */
  #bytes: number | undefined;

  constructor(sql: SqlTag) {
    this.#sql = sql;
    sql`CREATE TABLE IF NOT EXISTS hearth_mcp_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL, message TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0)`;
    // Sessions stored by versions that did not count bytes.
    if (sql`SELECT 1 AS present FROM pragma_table_info('hearth_mcp_events') WHERE name = 'bytes'`.length === 0) {
      sql`ALTER TABLE hearth_mcp_events ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0`;
      sql`UPDATE hearth_mcp_events SET bytes = length(CAST(message AS BLOB))`;
    }
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    if (this.paused) return "0";
    const text = JSON.stringify(message);
    const bytes = Buffer.byteLength(text);
    this.#bytes ??= this.#sql<{ total: number }>`SELECT coalesce(sum(bytes), 0) AS total FROM hearth_mcp_events`[0]!.total;
    const [row] = this.#sql<{ id: number }>`INSERT INTO hearth_mcp_events (stream_id, message, bytes)
      VALUES (${streamId}, ${text}, ${bytes}) RETURNING id`;
    this.#bytes += bytes;
    this.#trim(row!.id);
    return eventIdOf(streamId, row!.id);
  }

  /**
   * Keeps the newest events within both bounds, at every insert: counted in SQL on the ids (which only
   * grow), so the bounds hold however often the session's agent hibernates and wakes.
   */
  #trim(newest: number): void {
    if (newest > MAX_STORED_EVENTS) {
      const dropped = this.#sql<{ bytes: number }>`DELETE FROM hearth_mcp_events WHERE id <= ${newest - MAX_STORED_EVENTS} RETURNING bytes`;
      for (const row of dropped) this.#bytes! -= row.bytes;
    }
    if (this.#bytes! <= MAX_STORED_EVENT_BYTES) return;
    // The oldest events whose bytes, added to those of every newer one, pass the bound.
    this.#sql`DELETE FROM hearth_mcp_events WHERE id < ${newest} AND id <= (
      SELECT coalesce(max(id), 0) FROM (SELECT id, sum(bytes) OVER (ORDER BY id DESC) AS kept FROM hearth_mcp_events)
      WHERE kept > ${MAX_STORED_EVENT_BYTES})`;
    this.#bytes = this.#sql<{ total: number }>`SELECT coalesce(sum(bytes), 0) AS total FROM hearth_mcp_events`[0]!.total;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parsed = parseEventId(eventId);
    if (parsed === undefined) return undefined;
    // A stream with nothing kept (unknown, or trimmed away entirely) cannot be resumed.
    if (parsed.streamId !== undefined) {
      const kept = this.#sql`SELECT 1 FROM hearth_mcp_events WHERE stream_id = ${parsed.streamId} LIMIT 1`.length > 0;
      return kept ? parsed.streamId : undefined;
    }
    return this.#sql<{ stream_id: string }>`SELECT stream_id FROM hearth_mcp_events WHERE id = ${parsed.row}`[0]?.stream_id;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const streamId = await this.getStreamIdForEventId(lastEventId);
    if (streamId === undefined) throw new Error(`Unknown event id ${JSON.stringify(lastEventId)}`);
    const rows = this.#sql<{ id: number; message: string }>`SELECT id, message FROM hearth_mcp_events
      WHERE stream_id = ${streamId} AND id > ${parseEventId(lastEventId)!.row} ORDER BY id`;
    for (const row of rows) {
      const message = JSON.parse(row.message) as JSONRPCMessage;
      // Priming events (empty data) only mark a position; there is nothing to resend.
      if (!("jsonrpc" in message)) continue;
      await send(eventIdOf(streamId, row.id), message);
    }
    return streamId;
  }
}

function eventIdOf(streamId: StreamId, row: number): EventId {
  return `${streamId}:${row.toString(16).padStart(16, "0")}`;
}

/** `<stream>:<hex row>`; a bare decimal row id is what older Hearth versions sent. */
function parseEventId(eventId: string): { streamId?: string; row: number } | undefined {
  if (/^\d{1,15}$/.test(eventId)) return { row: Number(eventId) };
  const colon = eventId.lastIndexOf(":");
  const hex = eventId.slice(colon + 1);
  if (colon <= 0 || !/^[0-9a-f]{16}$/.test(hex)) return undefined;
  const row = Number.parseInt(hex, 16);
  return Number.isSafeInteger(row) ? { streamId: eventId.slice(0, colon), row } : undefined;
}
