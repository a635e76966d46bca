/**
 * Reading the chunks of a chat turn from its response frames, shared by the transport's streams
 * and the turns `useAgentChat` follows itself: chunks replayed after a reconnect are dropped, and
 * the start chunk of a continuation does not reset the message it continues.
 */
import type { UIMessageChunk } from "ai";
import type { ChatResponseFrame } from "./chat-protocol.ts";

/**
 * Where reading a turn stands.
 *
 * @example
 * ```ts
 * const cursor: ChunkCursor = { received: 0, skip: 0 };
 * ```
 */
export interface ChunkCursor {
  /** Chunks read so far (a replay after a reconnect starts from the first one again). */
  received: number;
  /** Replayed chunks still to drop, for agents that do not number chunks. */
  skip: number;
}

/**
 * Parses a frame body as a UI message stream chunk; `undefined` for an empty or broken body.
 *
 * @example
 * ```ts
 * parseChunk('{"type":"start"}'); // { type: "start" }
 * ```
 */
export function parseChunk(body: string): UIMessageChunk | undefined {
  if (body.trim() === "") return undefined;
  try {
    return JSON.parse(body) as UIMessageChunk;
  } catch {
    return undefined;
  }
}

/**
 * Whether a chunk was already read before the connection dropped (the agent replays a turn from
 * its first chunk); counts the chunk as read otherwise. Numbered chunks (`seq`) are checked by
 * number, others by counting; frames without a body are never repeats.
 */
function isRepeat(cursor: ChunkCursor, frame: ChatResponseFrame): boolean {
  if (frame.body.trim() === "") return false;
  if (frame.seq !== undefined) {
    if (frame.seq < cursor.received) return true;
    cursor.received = frame.seq + 1;
    cursor.skip = 0;
    return false;
  }
  if (cursor.skip > 0) {
    cursor.skip--;
    return true;
  }
  cursor.received++;
  return false;
}

/**
 * The chunk a response frame adds to its turn, or `undefined` when it adds none (no body, a
 * replayed chunk, a broken body). When the turn `continues` a message the client already shows,
 * its start chunk keeps only the message metadata, so the message keeps its id and parts.
 *
 * @example
 * ```ts
 * const chunk = nextChunk(cursor, frame, frame.continuation === true);
 * if (chunk !== undefined) controller.enqueue(chunk);
 * ```
 */
export function nextChunk(cursor: ChunkCursor, frame: ChatResponseFrame, continues: boolean): UIMessageChunk | undefined {
  if (isRepeat(cursor, frame)) return undefined;
  const chunk = parseChunk(frame.body);
  if (chunk?.type === "start" && continues) {
    return chunk.messageMetadata === undefined ? undefined : { type: "message-metadata", messageMetadata: chunk.messageMetadata };
  }
  return chunk;
}
