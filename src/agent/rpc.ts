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

  /** Sends one chunk (`done: false`). False, and nothing sent, once the stream ended (as on Cloudflare). */
  send(chunk: unknown): boolean {
    if (this.#ended("send")) return false;
    this.#connection.send(frames.rpcResult(this.#id, chunk, false));
    return true;
  }

  /** Sends the final frame (`done: true`), optionally with a last value. False once the stream ended. */
  end(finalChunk?: unknown): boolean {
    if (this.#ended("end")) return false;
    this.#close();
    this.#connection.send(frames.rpcResult(this.#id, finalChunk, true));
    return true;
  }

  /** Fails the call on the client. False once the stream ended. */
  error(message: string): boolean {
    if (this.#ended("error")) return false;
    this.#close();
    this.#connection.send(frames.rpcError(this.#id, message));
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
  /** The error reply, and the `rpc:error` event (in the Agents SDK's words, which may be shorter). */
  const refuse = (error: string, event = error): void => {
    connection.send(frames.rpcError(id, error));
    emitAgentEvent(target.instance, "rpc:error", () => ({ method, error: event }));
  };
  let stream: StreamingResponse | undefined;
  try {
    // Inside the try: a getter may throw, and the client still gets its reply.
    const fn = (target.instance as Record<string, unknown>)[method];
    if (typeof fn !== "function") return refuse(`Method "${method}" does not exist on ${target.className}`);
    const options = callableOptions(target.instance, method, fn);
    if (!options) {
      const notCallable = `Method "${method}" of ${target.className} is not callable`;
      return refuse(`${notCallable}: mark it with @callable() or list it in static callables`, notCallable);
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
    if (stream === undefined || stream.isClosed) connection.send(frames.rpcError(id, messageOf(error)));
    else stream.error(messageOf(error));
    throw error;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
