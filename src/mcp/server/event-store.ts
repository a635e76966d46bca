import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import type { SqlTag } from "../../storage/sql.ts";

/** Events kept per session for replay (Last-Event-ID); older ones are dropped. */
export const MAX_STORED_EVENTS = 1_000;

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
  #sinceTrim = 0;

  constructor(sql: SqlTag) {
    this.#sql = sql;
    sql`CREATE TABLE IF NOT EXISTS hearth_mcp_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL, message TEXT NOT NULL)`;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    if (this.paused) return "0";
    const [row] = this.#sql<{ id: number }>`INSERT INTO hearth_mcp_events (stream_id, message)
      VALUES (${streamId}, ${JSON.stringify(message)}) RETURNING id`;
    if (++this.#sinceTrim >= 100) {
      this.#sinceTrim = 0;
      this.#sql`DELETE FROM hearth_mcp_events WHERE id <= ${row!.id - MAX_STORED_EVENTS}`;
    }
    return eventIdOf(streamId, row!.id);
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
