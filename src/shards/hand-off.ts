import type { IncomingMessage, ServerResponse } from "node:http";
import { moveUpgrade } from "../gateway/connection-transfer.ts";
import { discardBody } from "../gateway/incoming-body.ts";
import { declaredBodyLength, nodeHeaders } from "../gateway/node-adapter.ts";
import { INTERNAL_ERROR, type RequestHandOff } from "../gateway/serve.ts";
import { MAX_FORWARDED_BODY_BYTES, bodyTooLarge, type WireHandedRequest, type WireResponseHead } from "./codec.ts";
import type { ResponseSink } from "./link-handler.ts";
import type { ShardLink } from "./link.ts";

/**
 * The server's side of a request for another thread's agent: taken as Node received it (its target,
 * raw headers and whole body) and handed to the agent's thread, whose server answers it as its own;
 * the response is written back as it arrives. Nothing web-standard is built on this thread — no
 * Request, Response or stream, no span or metric (the answering thread makes those): a request
 * handed over costs this thread about what Node's HTTP layer costs.
 * @example
 * // Shard.handOff() is this, with the link to the shard that owns the target's agent:
 * serve({ host, handOff: handOffRequests((target) => (target.startsWith("/agents/room/") ? linkToShard1 : undefined)) });
 */
export function handOffRequests(linkFor: (target: string) => ShardLink | undefined, options: HandOffOptions = {}): RequestHandOff {
  const exposeErrors = options.exposeErrors === true;
  return {
    // A new connection whose first request is for another thread's agent moves there before anything
    // of it is parsed here: a client that keeps asking that agent is then served by its thread alone.
    connectionFor(target) {
      const link = linkFor(target);
      return link === undefined ? undefined : (moved) => link.moveConnection(moved);
    },
    // A WebSocket's upgrade for another thread's agent: the whole connection moves there, so its
    // frames never cross between threads (a relayed socket is what is left when it cannot move).
    takeUpgrade(incoming, socket, head) {
      const target = incoming.url;
      const link = target === undefined || !target.startsWith("/") ? undefined : linkFor(target);
      return link !== undefined && moveUpgrade(incoming, socket, head, (moved) => link.moveConnection(moved));
    },
    take(incoming, outgoing, origin) {
      const target = incoming.url;
      if (target === undefined || !target.startsWith("/")) return false;
      const link = linkFor(target);
      if (link === undefined) return false;
      const method = incoming.method ?? "GET";
      const send = (body: Uint8Array | null): void => {
        const request: WireHandedRequest = { method, target, origin, rawHeaders: incoming.rawHeaders, body };
        const sink = new OutgoingSink(outgoing, exposeErrors ? undefined : `${method} ${target}`);
        const cancel = link.http(request, sink);
        outgoing.once("close", () => {
          if (!outgoing.writableFinished) cancel();
        });
      };
      const declared = method === "GET" || method === "HEAD" ? 0 : declaredBodyLength(incoming.rawHeaders);
      if (declared > 0) readBody(incoming, outgoing, declared, send);
      else {
        discardBody(incoming); // a GET's body, say: dropped, as the gateway drops a body nobody read
        send(null);
      }
      return true;
    },
  };
}

/** How requests handed over are answered when the hand-over itself fails. */
export interface HandOffOptions {
  /** The 500 carries the failure's message (`hearth dev`), as serve()'s `exposeErrors`. Default: a generic body, the failure logged. */
  exposeErrors?: boolean;
}

/** Reads the whole body (at most MAX_FORWARDED_BODY_BYTES: a 413 past it), then `send`s it. */
function readBody(incoming: IncomingMessage, outgoing: ServerResponse, declared: number, send: (body: Uint8Array) => void): void {
  if (declared !== Number.POSITIVE_INFINITY && declared > MAX_FORWARDED_BODY_BYTES) return tooLarge(incoming, outgoing, declared);
  const chunks: Buffer[] = [];
  let bytes = 0;
  const onData = (chunk: Buffer): void => {
    bytes += chunk.byteLength;
    if (bytes > MAX_FORWARDED_BODY_BYTES) {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      return tooLarge(incoming, outgoing, bytes);
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    send(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength));
  };
  incoming.on("data", onData);
  incoming.once("end", onEnd);
  // A client gone mid-body: nothing is handed over, the socket is already closed.
  incoming.once("error", () => incoming.off("end", onEnd));
}

function tooLarge(incoming: IncomingMessage, outgoing: ServerResponse, bytes: number): void {
  discardBody(incoming);
  outgoing.writeHead(413, { "content-type": "application/json" }).end(JSON.stringify({ error: bodyTooLarge(bytes).message }));
}

/**
 * Writes a handed-over request's response to Node's ServerResponse. What arrives in one message is
 * written at its flush: a whole response (the common case) leaves in one write with a content-length,
 * a stream (SSE) sends its head at once and each chunk as it comes.
 */
class OutgoingSink implements ResponseSink {
  readonly #outgoing: ServerResponse;
  #head: WireResponseHead | undefined;
  #chunks: Uint8Array[] = [];
  /** What tells the other shard each chunk left, in order: called once the socket takes more. */
  #leaving: Array<() => void> = [];
  #ended = false;
  #failed: Error | undefined;
  #written = false;
  /** The request, for the log line of a failure the client is not told about; undefined when the client is told. */
  readonly #hidden: string | undefined;

  constructor(outgoing: ServerResponse, hidden: string | undefined) {
    this.#outgoing = outgoing;
    this.#hidden = hidden;
  }

  head(head: WireResponseHead): void {
    this.#head = head;
  }

  chunk(data: Uint8Array, written: () => void): void {
    this.#chunks.push(data);
    this.#leaving.push(written);
  }

  end(): void {
    this.#ended = true;
  }

  fail(error: Error): void {
    this.#failed = error;
  }

  flush(): void {
    const outgoing = this.#outgoing;
    if (outgoing.destroyed) return;
    if (this.#failed !== undefined) {
      // Before the head: the client gets the 500 the gateway makes of a failed fetch; after, a cut response.
      if (this.#written) outgoing.destroy(this.#failed);
      else {
        if (this.#hidden !== undefined) console.error(`[hearth] ${this.#hidden}:`, this.#failed);
        const error = this.#hidden === undefined ? this.#failed.message : INTERNAL_ERROR;
        outgoing.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error }));
      }
      return;
    }
    const chunks = this.#chunks;
    this.#chunks = [];
    if (!this.#written) {
      const head = this.#head;
      if (head === undefined) return;
      this.#written = true;
      const { headers, framed } = nodeHeaders(head.headers);
      if (this.#ended) {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (!framed && body.byteLength > 0) headers.push("content-length", String(body.byteLength));
        outgoing.writeHead(head.status, head.statusText || undefined, headers);
        outgoing.end(body.byteLength > 0 ? body : undefined);
        return;
      }
      outgoing.writeHead(head.status, head.statusText || undefined, headers);
      if (chunks.length === 0) outgoing.flushHeaders();
    }
    for (const chunk of chunks) outgoing.write(chunk);
    if (this.#ended) outgoing.end();
    this.#acknowledge();
  }

  /** The chunks written so far left: at once, or when the socket drains (a slow client holds the other shard back). */
  #acknowledge(): void {
    const leaving = this.#leaving;
    if (leaving.length === 0) return;
    this.#leaving = [];
    const all = () => leaving.forEach((done) => done());
    if (this.#outgoing.writableNeedDrain) this.#outgoing.once("drain", all);
    else all();
  }
}
