import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import type { SqlTag } from "../../storage/sql.ts";

/** Events kept per session for replay (Last-Event-ID); older ones are dropped. */
export const MAX_STORED_EVENTS = 1_000;

/**
 * Resumability for Streamable HTTP: every message sent on a session's SSE streams is stored in the
 * session agent's own SQLite, so a client that lost its stream — even across a hibernation or a
 * restart — reconnects with `Last-Event-ID` and receives what it missed.
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
    return String(row!.id);
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const id = parseEventId(eventId);
    if (id === undefined) return undefined;
    return this.#sql<{ stream_id: string }>`SELECT stream_id FROM hearth_mcp_events WHERE id = ${id}`[0]?.stream_id;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const streamId = await this.getStreamIdForEventId(lastEventId);
    if (streamId === undefined) throw new Error(`Unknown event id ${JSON.stringify(lastEventId)}`);
    const rows = this.#sql<{ id: number; message: string }>`SELECT id, message FROM hearth_mcp_events
      WHERE stream_id = ${streamId} AND id > ${parseEventId(lastEventId)!} ORDER BY id`;
    for (const row of rows) {
      const message = JSON.parse(row.message) as JSONRPCMessage;
      // Priming events (empty data) only mark a position; there is nothing to resend.
      if (!("jsonrpc" in message)) continue;
      await send(String(row.id), message);
    }
    return streamId;
  }
}

function parseEventId(eventId: string): number | undefined {
  if (!/^\d{1,15}$/.test(eventId)) return undefined;
  return Number(eventId);
}
