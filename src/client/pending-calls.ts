import type { RpcResponseFrame } from "./frames.ts";
import { randomId } from "./id.ts";
import { HeldFrame, Outbox } from "./outbox.ts";
import type { OutgoingFrame } from "./outbox.ts";

export type { OutgoingFrame } from "./outbox.ts";

/**
 * Callbacks for a streaming call: chunks, the final value, or an error.
 * `onDone` and `onError` run once the call has settled; one that throws is
 * reported with `console.error` and changes nothing about the call.
 *
 * @example
 * ```ts
 * const stream: StreamCallbacks<string> = { onChunk: (c) => console.log(c), onDone: (end) => console.log(end) };
 * await client.call("countdown", [3], stream);
 * ```
 */
export interface StreamCallbacks<T = unknown> {
  /** A chunk sent with `stream.send(chunk)` on the agent. */
  onChunk?(chunk: unknown): void;
  /** The final value sent with `stream.end(value)`; the call resolves with it too. */
  onDone?(final: T): void;
  /** The error message; the call rejects with it too. */
  onError?(message: string): void;
}

/**
 * The stream callbacks of a call, under the Agents SDK's name.
 *
 * @example
 * ```ts
 * const stream: StreamOptions = { onChunk: (chunk) => console.log(chunk) };
 * ```
 */
export type StreamOptions<T = unknown> = StreamCallbacks<T>;

/**
 * How long a call without stream callbacks waits for its reply by default,
 * in milliseconds, as in the Agents SDK. `defaultCallTimeout` (per client)
 * or `timeout` (per call) changes it; 0 disables it.
 *
 * @example
 * ```ts
 * new AgentClient({ host, agent: "Reports", defaultCallTimeout: 5 * DEFAULT_CALL_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * Per-call options: stream callbacks and a timeout in milliseconds (0 disables).
 *
 * @example
 * ```ts
 * await client.call("slowReport", [], { timeout: 60_000 });
 * ```
 */
export interface CallOptions<T = unknown> {
  stream?: StreamCallbacks<T>;
  timeout?: number;
}

/**
 * What `call()` accepts as its third argument: either the stream callbacks
 * themselves or `{ stream, timeout }`.
 *
 * @example
 * ```ts
 * await client.call("countdown", [3], { onChunk: console.log });
 * await client.call("countdown", [3], { stream: { onChunk: console.log }, timeout: 5_000 });
 * ```
 */
export type CallOptionsInput<T = unknown> = StreamCallbacks<T> | CallOptions<T>;

/**
 * The error a call rejects with when the agent answered `success: false`;
 * `message` is the agent's message, unchanged.
 *
 * @example
 * ```ts
 * try { await client.call("nope"); }
 * catch (e) { if (e instanceof AgentCallError) console.log(e.method, e.message); }
 * ```
 */
export class AgentCallError extends Error {
  override name = "AgentCallError";
  /** The method that was called. */
  readonly method: string;
  constructor(message: string, method: string) {
    super(message);
    this.method = method;
  }
}

/** The part of a socket a call needs. */
export interface CallSocket {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string): unknown;
}

interface Entry {
  id: string;
  method: string;
  request: string;
  sentOn: object | null;
  stream: StreamCallbacks | undefined;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Reads the third argument of `call()`: the stream callbacks themselves
 * (the older shape) or `{ stream, timeout }`.
 *
 * @example
 * ```ts
 * splitCallOptions({ onChunk: console.log });  // { stream: { onChunk }, timeout: undefined }
 * splitCallOptions({ timeout: 5_000 });        // { stream: undefined, timeout: 5000 }
 * ```
 */
export function splitCallOptions<T = unknown>(
  options: CallOptionsInput<T> | undefined,
): { stream: StreamCallbacks<T> | undefined; timeout: number | undefined } {
  if (options === undefined) return { stream: undefined, timeout: undefined };
  if ("onChunk" in options || "onDone" in options || "onError" in options) {
    return { stream: options as StreamCallbacks<T>, timeout: undefined };
  }
  const { stream, timeout } = options as CallOptions<T>;
  return { stream, timeout };
}

/**
 * Runs an application's `onDone`/`onError` after its call has settled. One
 * that throws is reported rather than thrown: thrown, it would stop the
 * loop rejecting the other calls (and `close()` itself), or escape into the
 * socket's message listener.
 */
function notify(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    console.error("[hearth] A stream callback of an RPC call threw:", error);
  }
}

/**
 * The table of RPC calls waiting for a reply, shared by `AgentClient` and
 * `useAgent`. It numbers requests, matches `rpc` reply frames to them,
 * feeds stream chunks, and rejects calls whose connection went away.
 * A call is "sent on" the socket that transmitted it; calls made while no
 * socket was open wait here until {@link PendingCalls.flush}, not in a
 * socket's send buffer, so one that times out or is rejected is never sent.
 * Other frames made meanwhile (a state update, the application's own
 * `send`) can wait in the same outbox ({@link PendingCalls.hold}), so the
 * flush sends everything in the order it was made.
 *
 * @example
 * ```ts
 * const calls = new PendingCalls();
 * const result = calls.start((request) => (socket.send(request), socket), "increment", [2]);
 * socket.addEventListener("message", (e) => { const f = readClientFrame(e.data); if (f?.type === "rpc") calls.settle(f); });
 * ```
 */
export class PendingCalls {
  readonly #calls = new Map<string, Entry>();
  /** What waits for {@link PendingCalls.flush}, in the order it was made: unsent calls and held frames. */
  readonly #outbox = new Outbox<Entry>();

  /** How many calls are waiting. */
  get size(): number {
    return this.#calls.size;
  }

  /** Whether calls or held frames wait to be sent: a frame sent now would overtake them. */
  get queued(): boolean {
    return this.#outbox.size > 0;
  }

  /** How many frames {@link PendingCalls.hold} holds, not sent yet. */
  get heldFrameCount(): number {
    return this.#outbox.frameCount;
  }

  /** The total size of the held frames: bytes, or UTF-16 code units for text, as `bufferedAmount` counts them. */
  get heldFrameBytes(): number {
    return this.#outbox.frameBytes;
  }

  /**
   * Holds a frame that is not a call until {@link PendingCalls.flush}, which
   * sends it after the calls and frames that were queued before it.
   */
  hold(frame: OutgoingFrame): void {
    this.#outbox.hold(frame);
  }

  /** Removes and returns the held frames, oldest first (the waiting calls stay queued). */
  drainFrames(): OutgoingFrame[] {
    return this.#outbox.drainFrames();
  }

  /**
   * Registers a call and hands its request frame to `transmit`, which sends
   * it and returns the socket it went out on, or `null` when it could not be
   * sent yet (then {@link PendingCalls.flush} sends it once a socket opens).
   * Calls without stream callbacks time out after `defaultTimeout`
   * ({@link DEFAULT_CALL_TIMEOUT_MS} when undefined). Arguments JSON cannot
   * encode (a cycle, a BigInt) reject the call, as a failed send would,
   * rather than throw at the caller.
   */
  start<T>(
    transmit: (request: string) => object | null,
    method: string,
    args: unknown[],
    options?: CallOptionsInput<T>,
    defaultTimeout?: number,
  ): Promise<T> {
    const { stream, timeout } = splitCallOptions(options as CallOptionsInput | undefined);
    const limit = timeout ?? (stream ? undefined : (defaultTimeout ?? DEFAULT_CALL_TIMEOUT_MS));
    const id = randomId();
    let request: string;
    try {
      request = JSON.stringify({ type: "rpc", id, method, args });
    } catch (error) {
      // A circular React event from `onClick={agent.stub.save}`, say: the caller awaits a promise.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        id,
        method,
        request,
        sentOn: null,
        stream,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
      };
      if (limit !== undefined && limit > 0) {
        entry.timer = setTimeout(() => {
          this.#finish(id, entry);
          const message = `RPC call to ${method} timed out after ${limit}ms`;
          reject(new Error(message));
          notify(() => stream?.onError?.(message));
        }, limit);
      }
      this.#calls.set(id, entry);
      entry.sentOn = transmit(request);
      if (entry.sentOn === null) this.#outbox.add(entry);
    });
  }

  /**
   * Sends every call that has not been sent yet, and the held frames, in the
   * order they were made, with `send` (by default `socket.send`); the calls
   * are then "sent on" `socket`.
   */
  flush(socket: CallSocket | object, send: (data: OutgoingFrame) => unknown = (data) => (socket as CallSocket).send(data as string)): void {
    for (const item of this.#outbox.take()) {
      if (item instanceof HeldFrame) {
        send(item.frame);
        continue;
      }
      if (item.sentOn !== null || this.#calls.get(item.id) !== item) continue;
      send(item.request);
      item.sentOn = socket;
    }
  }

  /** Applies an `rpc` reply frame; returns false when no call has its id. */
  settle(frame: RpcResponseFrame): boolean {
    const entry = this.#calls.get(frame.id);
    if (entry === undefined) return false;
    if (!frame.success) {
      const message = frame.error ?? "RPC call failed";
      this.#finish(frame.id, entry);
      entry.reject(new AgentCallError(message, entry.method));
      notify(() => entry.stream?.onError?.(message));
      return true;
    }
    if (frame.done === false) {
      entry.stream?.onChunk?.(frame.result);
      return true;
    }
    this.#finish(frame.id, entry);
    entry.resolve(frame.result);
    notify(() => entry.stream?.onDone?.(frame.result));
    return true;
  }

  /** Rejects the calls that were sent on `socket` (their replies will never come). */
  rejectSentOn(socket: object, reason: string): void {
    this.#rejectWhere((entry) => entry.sentOn === socket, reason);
  }

  /** Rejects the calls that were never sent. */
  rejectUnsent(reason: string): void {
    this.#rejectWhere((entry) => entry.sentOn === null, reason);
  }

  /** Rejects every waiting call. */
  rejectAll(reason: string): void {
    this.#rejectWhere(() => true, reason);
  }

  #rejectWhere(match: (entry: Entry) => boolean, reason: string): void {
    for (const [id, entry] of [...this.#calls]) {
      if (!match(entry)) continue;
      this.#finish(id, entry);
      entry.reject(new Error(reason));
      notify(() => entry.stream?.onError?.(reason));
    }
  }

  #finish(id: string, entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.#calls.delete(id);
    if (entry.sentOn === null) this.#outbox.remove(entry);
  }
}
