import { EventEmitter } from "node:events";
import { isSendableCloseCode, MAX_CLOSE_REASON_BYTES } from "../websocket/close-reason.ts";

/** What a relayed socket needs from its link. */
export interface RelayOutlet {
  frames(data: string | ArrayBuffer): void;
  close(code: number, reason: string): void;
}

/** Frames kept for a socket nobody listens to yet (beyond, they are dropped: no host takes that long). */
const MAX_EARLY_FRAMES = 1_024;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The owner's side of a client socket another shard holds: it looks like a `ws` WebSocket to the host
 * (send, close, readyState; "message", "close" and "error" events), and every frame travels over the
 * link. The client's close arrives as a "close" event, as with a real socket, also after this side
 * asked to close.
 */
export class RelaySocket extends EventEmitter {
  #state: number = OPEN;
  readonly #outlet: RelayOutlet;
  /**
   * Frames that came before anyone listened: the host attaches its listener a moment after the socket
   * is made, and a client may send right after the handshake, in the same batch as the upgrade.
   */
  #early: Array<string | ArrayBuffer> | undefined = [];

  constructor(outlet: RelayOutlet) {
    super();
    this.#outlet = outlet;
    this.on("newListener", this.#onListener);
  }

  readonly #onListener = (event: string | symbol): void => {
    if (event !== "message") return;
    this.off("newListener", this.#onListener);
    // Once the listener is in place (newListener comes just before it is), in order: frames that come
    // meanwhile join the queue.
    queueMicrotask(() => {
      const early = this.#early!;
      this.#early = undefined;
      for (const data of early) this.receive(data);
    });
  };

  get readyState(): number {
    return this.#state;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.#state !== OPEN) return;
    this.#outlet.frames(typeof data === "string" ? data : copyBytes(data));
  }

  /**
   * Closes the socket, refusing what the `ws` socket it stands in for refuses (with the same errors):
   * a code no endpoint may send, a reason over 123 bytes. Like `ws`, a reason without a code is ignored.
   */
  close(code?: number, reason?: string): void {
    if (this.#state !== OPEN) return;
    checkClose(code, reason);
    this.#state = CLOSING;
    this.#outlet.close(code ?? 1005, code === undefined ? "" : (reason ?? ""));
  }

  /** Drops the connection: the client sees an abnormal closure (1006). */
  terminate(): void {
    if (this.#state !== OPEN) return;
    this.#state = CLOSING;
    this.#outlet.close(1006, "");
  }

  /** A frame from the client. */
  receive(data: string | ArrayBuffer): void {
    if (this.#state === CLOSED) return;
    if (this.#early !== undefined) {
      if (this.#early.length < MAX_EARLY_FRAMES) this.#early.push(data);
      return;
    }
    if (typeof data === "string") this.emit("message", Buffer.from(data, "utf8"), false);
    else this.emit("message", Buffer.from(data), true);
  }

  /** The client's socket closed (or its shard went away). */
  receiveClose(code: number, reason: string): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.emit("close", code, Buffer.from(reason, "utf8"));
  }
}

/**
 * What `ws` refuses in `close()` (its Sender.close), with its errors: on one thread the host closes a
 * `ws` socket where this relay stands, so a bad close throws at the caller there as here.
 */
function checkClose(code: number | undefined, reason: string | undefined): void {
  if (code === undefined) return;
  if (typeof code !== "number" || !isSendableCloseCode(code)) throw new TypeError("First argument must be a valid error code number");
  if (reason !== undefined && Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`The message must not be greater than ${MAX_CLOSE_REASON_BYTES} bytes`);
  }
}

/** A copy of the bytes as an ArrayBuffer of their own (views into pooled buffers must not cross). */
export function copyBytes(data: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data.slice(0);
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return view.slice().buffer;
}
