import type { IncomingMessage } from "node:http";
import { RequestBodyTooLargeError } from "./request-body-limit.ts";

/** Marks a request whose body went past the server's limit: what was left of it was never read. */
const TOO_LARGE = Symbol("hearth.bodyTooLarge");
type Marked = IncomingMessage & { [TOO_LARGE]?: number };

/** The limit a request's body went past (its stream failed, the rest is unread), or undefined. */
export function bodyLimitPassed(incoming: IncomingMessage): number | undefined {
  return (incoming as Marked)[TOO_LARGE];
}

/**
 * A request body as a web ReadableStream, read from Node's IncomingMessage with backpressure (the
 * message stays paused until a reader asks for more). The same behaviour as `Readable.toWeb`, at a
 * fraction of its cost per request: no adapter, no end-of-stream watcher, no queue filled ahead.
 * Nothing is attached to the message until a reader first asks: most bodies of small POSTs are never
 * read as a stream, and the message keeps what arrives meanwhile (paused, as Node leaves it).
 * Cancelling the stream drops the rest of the body; so does {@link discardBody} for a body nobody
 * read once the response is written (an unread body would leave the connection unusable).
 *
 * Past `maxBytes` (a chunked body: a declared length is refused before, serve.ts) the stream fails
 * with a {@link RequestBodyTooLargeError}, nothing more is read, and the request is marked
 * ({@link bodyLimitPassed}): the server answers 413 and closes the connection.
 */
export function incomingBody(incoming: IncomingMessage, maxBytes = Number.POSITIVE_INFINITY): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let finished = false;
  let attached = false;
  let received = 0;
  const onData = (chunk: Buffer) => {
    if (finished) return;
    received += chunk.byteLength;
    if (received > maxBytes) return tooLarge();
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
  };
  const onEnd = () => {
    if (finished) return;
    finished = true;
    controller.close();
  };
  const onError = (error: Error) => {
    if (finished) return;
    finished = true;
    controller.error(error);
  };
  const tooLarge = () => {
    (incoming as Marked)[TOO_LARGE] = maxBytes;
    incoming.pause(); // the rest stays unread: the connection closes after the answer
    incoming.off("data", onData);
    onError(new RequestBodyTooLargeError(maxBytes));
  };
  // A client that goes away mid-body: the reader gets an error instead of waiting forever.
  const onClose = () => {
    if (!finished && !incoming.complete) onError(aborted());
  };
  const attach = () => {
    attached = true;
    // Gone before the reader first asked: what it had is dropped with it (a destroyed stream keeps nothing).
    if (incoming.destroyed) return onError(aborted());
    incoming.on("data", onData);
    incoming.once("end", onEnd);
    incoming.once("error", onError);
    incoming.once("close", onClose);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        if (!attached) attach();
        if (!finished) incoming.resume();
      },
      cancel() {
        // The rest of the body is read and dropped: the answer (a 413, say) still reaches the client,
        // and the connection stays usable for its next request. Node's requestTimeout bounds a client
        // that never stops sending.
        finished = true;
        discardBody(incoming);
      },
    },
    // Nothing is pulled before a reader asks: a stream that pulls at once starts a read on every
    // request, read or not. Until then the message keeps what arrived.
    { highWaterMark: 0 },
  );
}

function aborted(): Error {
  return Object.assign(new Error("aborted"), { code: "ECONNRESET" });
}

/**
 * Reads what is left of a request body and drops it, so the connection can carry the next request;
 * not a body that went past the server's limit (that connection is closed instead).
 */
export function discardBody(incoming: IncomingMessage): void {
  if (incoming.complete || incoming.destroyed || bodyLimitPassed(incoming) !== undefined) return;
  incoming.removeAllListeners("data");
  incoming.resume();
}
