import { takeCompleteBody } from "../web/complete-body-response.ts";
import { responseHead } from "./codec.ts";
import { errorToWire } from "./error-wire.ts";
import type { LinkMessage } from "./messages.ts";
import { copyBytes } from "./relay-socket.ts";
import { SendWindow } from "./send-window.ts";

/** What sending a response needs from its link. */
export interface ResponseLink {
  send(message: LinkMessage): void;
  /** Whether the link closed (nothing more goes out). */
  closed(): boolean;
  /** The windows of the responses being sent, by call id: the other shard's acks reach them there. */
  readonly windows: Map<number, SendWindow>;
}

const encoder = new TextEncoder();
const PENDING = Symbol("pending");
const pending = Promise.resolve(PENDING);
type Read = ReadableStreamReadResult<Uint8Array>;

/** The read's result if it has already settled, else PENDING (without waiting for it). */
function ifReady(read: Promise<Read>): Promise<Read | typeof PENDING> {
  return Promise.race([read, pending]);
}

/**
 * Sends `response`, the answer to call `id`, to the other shard as it is read: its head, its body's
 * chunks, the end. A body already whole (a string, JSON, bytes) goes with its head in one message, so
 * the other thread's server writes it in one write with a content-length, as this thread's would
 * (gateway/node-adapter.ts). A stream goes chunk by chunk, at most STREAM_WINDOW_BYTES ahead of what
 * the other side passed on. Once `abort` fires (the caller went away), nothing more is sent and the
 * body is cancelled.
 */
export async function sendResponse(id: number, response: Response, abort: AbortSignal, link: ResponseLink): Promise<void> {
  if (abort.aborted) {
    takeCompleteBody(response);
    await response.body?.cancel().catch(() => {});
    return;
  }
  const head: LinkMessage = { t: "head", id, head: responseHead(response) };
  try {
    const text = takeCompleteBody(response); // a JSON or text answer: no stream to read back
    if (text !== undefined || response.body === null) {
      link.send(head);
      if (text) link.send({ t: "chunk", id, data: encoder.encode(text) });
      return link.send({ t: "end", id });
    }
    const reader = response.body.getReader();
    abort.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
    let read = reader.read();
    const first = await ifReady(read);
    if (first !== PENDING && !first.done) {
      read = reader.read();
      const second = await ifReady(read);
      if (second !== PENDING && second.done) {
        link.send(head);
        link.send({ t: "chunk", id, data: chunkBytes(first.value) });
        return link.send({ t: "end", id });
      }
    }
    // A stream: its head now (an event stream's client gets it before the first event), then its chunks.
    link.send(head);
    const window = new SendWindow();
    link.windows.set(id, window);
    if (first !== PENDING && !first.done) {
      const data = chunkBytes(first.value);
      link.send({ t: "chunk", id, data });
      window.sent(data.byteLength);
      await window.room();
    }
    // At most STREAM_WINDOW_BYTES sent and not yet gone on from the other side: a client that reads
    // slowly (or not at all) holds the stream here, as a client of this thread's server would.
    for (; !abort.aborted && !link.closed(); read = reader.read()) {
      const { done, value } = await read;
      if (done || abort.aborted || link.closed()) break;
      const data = chunkBytes(value);
      link.send({ t: "chunk", id, data });
      window.sent(data.byteLength);
      await window.room();
    }
    if (!abort.aborted) link.send({ t: "end", id });
  } catch (error) {
    if (!abort.aborted) link.send({ t: "fail", id, error: errorToWire(error) });
  } finally {
    link.windows.delete(id);
  }
}

/**
 * A body chunk as bytes for the link: bytes copied, a string encoded as UTF-8 (a Response whose
 * stream yields strings is written so by this thread's server too); anything else is an error.
 */
function chunkBytes(value: unknown): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return new Uint8Array(copyBytes(value));
  throw new TypeError(`A response body chunk must be a Uint8Array (or a string), not ${value === null ? "null" : typeof value}`);
}
