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

  /** @internal */
  constructor(connection: Connection, id: string, release: () => void) {
    this.#connection = connection;
    this.#id = id;
    this.#release = release;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Sends one chunk (`done: false`). */
  send(chunk: unknown): void {
    this.#assertOpen("send");
    this.#connection.send(frames.rpcResult(this.#id, chunk, false));
  }

  /** Sends the final frame (`done: true`), optionally with a last value. */
  end(finalChunk?: unknown): void {
    this.#assertOpen("end");
    this.#close();
    this.#connection.send(frames.rpcResult(this.#id, finalChunk, true));
  }

  /** Fails the call on the client. */
  error(message: string): void {
    this.#assertOpen("error");
    this.#close();
    this.#connection.send(frames.rpcError(this.#id, message));
  }

  #close(): void {
    this.#closed = true;
    this.#release();
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`StreamingResponse.${what}(): the stream has already ended`);
  }
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
  const fn = (target.instance as Record<string, unknown>)[method];
  if (typeof fn !== "function") {
    connection.send(frames.rpcError(id, `Method "${method}" does not exist on ${target.className}`));
    emitAgentEvent(target.instance, "rpc:error", () => ({ method, error: `Method "${method}" does not exist on ${target.className}` }));
    return;
  }
  const options = callableOptions(target.instance, method);
  if (!options) {
    connection.send(
      frames.rpcError(
        id,
        `Method "${method}" of ${target.className} is not callable: mark it with @callable() or list it in static callables`,
      ),
    );
    emitAgentEvent(target.instance, "rpc:error", () => ({ method, error: `Method "${method}" of ${target.className} is not callable` }));
    return;
  }
  let stream: StreamingResponse | undefined;
  try {
    const args = await validateArgs(method, options, frame.args);
    if (options.streaming) {
      stream = new StreamingResponse(connection, id, target.keepAlive());
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
    if (stream === undefined) connection.send(frames.rpcError(id, messageOf(error)));
    else if (!stream.isClosed) stream.error(messageOf(error));
    throw error;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
