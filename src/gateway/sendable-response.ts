/**
 * A worker's Response as it can go out over HTTP/1.1: its body encoded as its `Content-Encoding`
 * says, a `Content-Length` only when it is the body's true length, no body (nor length) where HTTP
 * allows none. Hop-by-hop headers are left out where the head is written (node-adapter.ts).
 */
import { takeCompleteBody } from "../web/complete-body-response.ts";
import { encodedBody, encoderFor, type Encoder } from "./content-encoding.ts";

/** Statuses whose response has neither a body nor a Content-Length (RFC 9110 §8.6, §15.3.5, §15.4.5). */
const NO_CONTENT = new Set([204, 304]);

/**
 * `response` made fit to send as the answer to a `method` request; the response itself when nothing
 * needs changing (most answers: no Content-Encoding, no Content-Length, not a HEAD).
 *
 * - `Content-Encoding` naming codings Node can write (gzip, deflate, br, zstd): the body is encoded
 *   with them, as the Workers runtime does (a body `fetch()` decoded is encoded again), and sent without
 *   a length. Other codings (`identity`, unknown ones) leave the body as it is.
 * - `Content-Length`: a whole body gets its real length where the head is written; a stream keeps
 *   the declared length, and fails (the client sees a cut response) if it turns out longer or shorter.
 * - 204 and 304: no Content-Length.
 * - HEAD: no body; the body is cancelled (an endless stream is not read), the length the worker
 *   declared is kept, a whole body's is given.
 * @example await writeResponse(sendableResponse(response, request.method), outgoing);
 */
export function sendableResponse(response: Response, method: string): Response {
  const headers = response.headers;
  const coding = headers.get("content-encoding");
  const length = headers.get("content-length");
  const head = method === "HEAD";
  if (coding === null && length === null && !head) return response;
  if (NO_CONTENT.has(response.status)) return length === null ? response : rebuilt(response, null, without(headers, "content-length"));
  const encoders = coding === null ? undefined : encodersOf(coding);
  if (encoders === undefined && length === null && !head) return response; // a coding Node cannot write goes as it is
  const text = takeCompleteBody(response);
  const body = text === undefined ? response.body : null;
  if (head) {
    void body?.cancel().catch(() => {});
    if (text === undefined) return body === null ? response : rebuilt(response, null, headers);
    const sized = without(headers, "content-length");
    if (encoders === undefined) sized.set("content-length", String(Buffer.byteLength(text)));
    return rebuilt(response, null, sized);
  }
  if (encoders !== undefined && (text !== undefined || body !== null)) {
    let encoded: ReadableStream<Uint8Array> = text !== undefined ? new Response(text).body! : body!;
    for (const encoder of encoders) encoded = encodedBody(encoded, encoder);
    return rebuilt(response, encoded, without(headers, "content-length"));
  }
  if (length === null) return response;
  // A declared length: a whole body's own is written in its place; a stream is held to it.
  if (body === null) return rebuilt(response, text ?? null, without(headers, "content-length"));
  const declared = Number(length);
  if (!Number.isSafeInteger(declared) || declared < 0) return rebuilt(response, body, without(headers, "content-length"));
  return rebuilt(response, exactly(body, declared), headers);
}

/**
 * The encoders of a `Content-Encoding` value, in the order the codings were applied (`deflate, gzip`:
 * deflate first); undefined when one of them is not one Node can write (fetch then decodes none of
 * them, and the body is sent as it came).
 */
function encodersOf(coding: string): Array<() => Encoder> | undefined {
  const encoders: Array<() => Encoder> = [];
  for (const name of coding.split(",")) {
    const encoder = encoderFor(name);
    if (encoder === undefined) return undefined;
    encoders.push(encoder);
  }
  return encoders;
}

/** `body` passed on as read, failing when it ends short of `length` bytes or goes past them. */
function exactly(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          if (seen !== length) throw new RangeError(`The response body is ${seen} bytes, but its Content-Length says ${length}`);
          return controller.close();
        }
        seen += value.byteLength;
        if (seen > length) {
          void reader.cancel().catch(() => {});
          throw new RangeError(`The response body is longer than its Content-Length of ${length} bytes`);
        }
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function without(headers: Headers, name: string): Headers {
  const copy = new Headers(headers);
  copy.delete(name);
  return copy;
}

/** A copy of `response` with `body` and `headers` (a string body adds no content-type the headers lack). */
function rebuilt(response: Response, body: BodyInit | null, headers: Headers): Response {
  const copy = new Response(body, { status: response.status, statusText: response.statusText, headers });
  if (typeof body === "string" && !headers.has("content-type")) copy.headers.delete("content-type");
  return copy;
}
