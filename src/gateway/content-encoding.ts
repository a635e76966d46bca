/**
 * Encoding a response body as its `Content-Encoding` header says, as the Workers runtime does by
 * default (`encodeBody: "automatic"`): a body is always what the header describes once encoded.
 *
 * Why: `fetch()` decodes a gzip, deflate, brotli or zstd body but keeps the upstream's
 * `Content-Encoding` header, so a worker that returns `fetch(upstream)` (or builds a Response on its
 * body and headers) hands over plain bytes labelled compressed. Sending them as they are garbles or
 * truncates them at the client; encoding them again makes the label true.
 */
import * as zlib from "node:zlib";
import type { Transform } from "node:stream";

/** A zlib stream: written, flushed, ended. */
export type Encoder = Transform & zlib.Zlib;

/** An encoder per coding Node can write; zstd only where this Node has it (it is also the Node whose fetch decodes it). */
const ENCODERS: Readonly<Record<string, (() => Encoder) | undefined>> = {
  gzip: () => zlib.createGzip(),
  "x-gzip": () => zlib.createGzip(),
  deflate: () => zlib.createDeflate(),
  br: () => zlib.createBrotliCompress(),
  zstd: typeof zlib.createZstdCompress === "function" ? () => zlib.createZstdCompress() : undefined,
};

/**
 * The encoder a `Content-Encoding` value asks for: one coding Node can write. Undefined for
 * `identity`, for codings it cannot (the body is then sent as it is, as fetch left it: fetch decodes
 * only what it knows).
 * @example encoderFor("gzip") // () => a Gzip stream
 */
export function encoderFor(contentEncoding: string): (() => Encoder) | undefined {
  const coding = contentEncoding.trim().toLowerCase();
  return Object.hasOwn(ENCODERS, coding) ? ENCODERS[coding] : undefined;
}


/**
 * `body` encoded by `encoder`, as a stream read as the client takes it: each chunk of the body is
 * encoded and flushed at once, so a stream (server-sent events, a model's tokens) reaches the client
 * as it is written, not when the encoder's window fills. Cancelling the result cancels the body.
 * @example new Response(encodedBody(response.body, encoderFor("gzip")!), { headers })
 */
export function encodedBody(body: ReadableStream<Uint8Array>, encoder: () => Encoder): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const stream = encoder();
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream.on("data", (chunk: Buffer) => controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
        stream.once("end", () => controller.close());
        stream.once("error", (error) => controller.error(error));
      },
      async pull() {
        if (ended) return; // the encoder's last bytes and its end are on their way
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          stream.destroy();
          throw error;
        }
        if (read.done) {
          ended = true;
          stream.end();
          return;
        }
        // Flushed once written: its output has been enqueued when the flush calls back.
        await new Promise<void>((resolve) => {
          stream.write(read.value);
          stream.flush(resolve);
        });
      },
      cancel(reason) {
        stream.destroy();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
