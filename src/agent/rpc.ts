import { frames, type RpcRequestFrame } from "../protocol/frames.ts";
import { callableOptions, validateArgs } from "./callable.ts";
import type { Connection } from "./connection.ts";
import { emitAgentEvent, wantsEvent } from "../events/index.ts";

/**
 * Handed to a streaming callable as its first argument.
 * @example
 * @callable({ streaming: true })
 * async countdown(stream: StreamingResponse, from: number) {
 *   for (let i = from; i > 0; i--) stream.send(i);
 *   stream.end("liftoff");
 * }
 */
export class StreamingResponse {
  readonly #connection: Connection;
  readonly #id: string;
  readonly #release: () => void;
  #closed = false;
  /** Its client left: later calls are dropped quietly (a method may go on producing for nobody). */
  #abandoned = false;

  /** @internal */
  constructor(connection: Connection, id: string, release: () => void) {
    this.#connection = connection;
    this.#id = id;
    this.#release = release;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one chunk (`done: false`). False, and nothing sent, once the stream ended or its socket
   * closed (as on Cloudflare): a producer can stop when nobody reads.
   */
  send(chunk: unknown): boolean {
    if (this.#ended("send")) return false;
    return this.#send(frames.rpcResult(this.#id, chunk, false));
  }

  /** Sends the final frame (`done: true`), optionally with a last value. False once the stream ended or its socket closed. */
  end(finalChunk?: unknown): boolean {
    if (this.#ended("end")) return false;
    this.#close();
    return this.#send(frames.rpcResult(this.#id, finalChunk, true));
  }

  /** Fails the call on the client. False once the stream ended or its socket closed. */
  error(message: string): boolean {
    if (this.#ended("error")) return false;
    this.#close();
    return this.#send(frames.rpcError(this.#id, message));
  }

  /** False when the socket is no longer open: the close may reach the agent later than this call. */
  #send(frame: string): boolean {
    if (this.#connection.record.socket.readyState !== OPEN) return false;
    this.#connection.send(frame);
    return true;
  }

  /** @internal Its connection closed: nothing can reach the client, and the agent need not stay for it. */
  abandon(): void {
    if (this.#closed) return;
    this.#abandoned = true;
    this.#close();
  }

  #close(): void {
    this.#closed = true;
    this.#release();
  }

  /** Cloudflare's StreamingResponse ignores calls after the end, with a warning: a `finally { stream.end() }` must not fail the event. */
  #ended(what: string): boolean {
    if (this.#closed && !this.#abandoned) console.warn(`StreamingResponse.${what}() called after the stream was closed`);
    return this.#closed;
  }
}

const OPEN = 1;

/** Streams still open, by agent and connection id: released when their connection closes. */
const openStreams = new WeakMap<object, Map<string, Set<StreamingResponse>>>();

/** Releases the streams `connectionId` still had open on `instance` (its socket closed). */
export function abandonStreams(instance: object, connectionId: string): void {
  const byConnection = openStreams.get(instance);
  const streams = byConnection?.get(connectionId);
  if (streams === undefined) return;
  byConnection!.delete(connectionId);
  for (const stream of streams) stream.abandon();
}

function trackStream(instance: object, connectionId: string, stream: StreamingResponse): () => void {
  let byConnection = openStreams.get(instance);
  if (byConnection === undefined) openStreams.set(instance, (byConnection = new Map()));
  let streams = byConnection.get(connectionId);
  if (streams === undefined) byConnection.set(connectionId, (streams = new Set()));
  streams.add(stream);
  return () => {
    streams.delete(stream);
    if (streams.size === 0 && byConnection.get(connectionId) === streams) byConnection.delete(connectionId);
  };
}

/** What handleRpc needs from the agent. */
export interface RpcTarget {
  readonly className: string;
  readonly instance: object;
  keepAlive(): () => void;
  /** Undoes the running event's uncommitted writes, so an error reply does not publish them. */
  rollback(): void;
}

/**
 * Runs one RPC frame from a client: only methods marked callable run; every failure becomes an
 * error reply with the request's id, and the agent keeps serving.
 */
export async function handleRpc(target: RpcTarget, connection: Connection, frame: RpcRequestFrame): Promise<void> {
  const { id, method } = frame;
  /** The error reply and the `rpc:error` event, in the Agents SDK's words. */
  const refuse = (error: string): void => {
    connection.send(frames.rpcError(id, error));
    emitAgentEvent(target.instance, "rpc:error", () => ({ method, error }));
  };
  let stream: StreamingResponse | undefined;
  try {
    // Inside the try: a getter may throw, and the client still gets its reply.
    const fn = (target.instance as Record<string, unknown>)[method];
    if (typeof fn !== "function") return refuse(`Method ${method} does not exist`);
    const options = callableOptions(target.instance, method, fn);
    if (!options) {
      warnNotCallable(target.className, method);
      return refuse(`Method ${method} is not callable`);
    }
    const args = await validateArgs(method, options, frame.args);
    if (options.streaming) {
      const release = target.keepAlive();
      let untrack = (): void => {};
      stream = new StreamingResponse(connection, id, () => {
        untrack();
        release();
      });
      untrack = trackStream(target.instance, connection.id, stream);
      emitAgentEvent(target.instance, "rpc", () => ({ method, streaming: true }));
      await fn.apply(target.instance, [stream, ...args]);
      return;
    }
    const result: unknown = await fn.apply(target.instance, args);
    let reply: string;
    try {
      reply = frames.rpcResult(id, result, true);
    } catch (error) {
      throw new TypeError(`The result of ${method}() cannot be sent as JSON: ${messageOf(error)}`, { cause: error });
    }
    connection.send(reply);
    if (wantsEvent(target.instance, "rpc")) emitAgentEvent(target.instance, "rpc", () => ({ method, streaming: options.streaming }));
  } catch (error) {
    target.rollback();
    emitAgentEvent(target.instance, "rpc:error", () => ({ method, error: messageOf(error) }));
    // A stream ended before the failure had its last frame held for a commit that the rollback
    // dropped: the client still waits, so it gets the error (after a frame that did go out, it is ignored).
    // The Agents SDK's texts: a thrown non-Error is not shown to the client, except on a stream.
    if (stream === undefined || stream.isClosed) connection.send(frames.rpcError(id, error instanceof Error ? error.message : UNKNOWN_ERROR));
    else stream.error(messageOf(error));
    throw error;
  }
}

/** What the client is told when a call threw something that is not an Error (the Agents SDK's words). */
const UNKNOWN_ERROR = "Unknown error occurred";

/** Classes and methods already warned about, so a client calling in a loop does not flood the log. */
const warnedNotCallable = new Set<string>();

/** The client's reply stays the SDK's short text; the server's log says how to fix it, once per method. */
function warnNotCallable(className: string, method: string): void {
  const key = `${className}.${method}`;
  if (warnedNotCallable.has(key)) return;
  warnedNotCallable.add(key);
  console.warn(`[hearth] a client called ${key}(), which is not callable: mark it with @callable() or list it in static callables`);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
