import { deserialize, serialize } from "node:v8";
import { closeEvent, errorEvent, messageEvent, type SocketMessage } from "./events.ts";
import { currentSocketOwner, type SocketOwner } from "./owner.ts";

export const READY_STATE = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** The largest serialized attachment of one WebSocket (Cloudflare's limit). */
export const MAX_ATTACHMENT_BYTES = 16_384;

/** Where an end's outgoing traffic goes: its peer end in memory, or a network socket. */
export interface SocketLink {
  send(data: SocketMessage): void;
  close(code: number, reason: string): void;
}

/** Who handles an accepted end's incoming traffic. */
export interface SocketReceiver {
  message(data: SocketMessage): void;
  close(code: number, reason: string, wasClean: boolean): void;
  error(error: unknown): void;
}

type Incoming =
  | { kind: "message"; data: SocketMessage }
  | { kind: "close"; code: number; reason: string; wasClean: boolean }
  | { kind: "error"; error: unknown };

/**
 * One end of a WebSocket, behind the objects user code holds. It outlives them: after an actor
 * hibernates, `ctx.getWebSockets()` hands out new objects over the same ends, with their attachments.
 * Incoming traffic waits in a queue until the end is accepted — with `accept()` (events on the
 * object) or by an actor's `ctx.acceptWebSocket()` (delivered to the actor, waking it).
 */
export class SocketEnd {
  readyState: number = READY_STATE.OPEN;
  url: string | null = null;
  protocol = "";
  /** The serialized attachment (structured clone), or undefined. */
  attachment: Uint8Array | undefined;
  /** Tags given to `ctx.acceptWebSocket`. */
  tags: readonly string[] = [];
  /** When the actor's auto-response last answered on this socket. */
  autoResponseAt: Date | null = null;
  #link: SocketLink | undefined;
  #receiver: SocketReceiver | undefined;
  #queue: Incoming[] = [];
  #acceptedAs: "none" | "events" | "actor" = "none";
  /** Set once this end was handed to the runtime in a 101 response: it is spliced to the network. */
  spliced = false;
  /** The other end of its pair. */
  peer: SocketEnd | undefined;

  get accepted(): boolean {
    return this.#acceptedAs !== "none";
  }

  get hibernatable(): boolean {
    return this.#acceptedAs === "actor";
  }

  link(link: SocketLink): void {
    this.#link = link;
  }

  /** `accept()`: incoming traffic becomes events dispatched on `target`, in its owner's gate. */
  acceptWithEvents(target: EventTarget): void {
    this.#checkAcceptable("accept()");
    this.#acceptedAs = "events";
    const owner = currentSocketOwner();
    const release = owner?.hold();
    const dispatch = (event: Event): void => {
      if (owner) owner.run(() => void target.dispatchEvent(event));
      else target.dispatchEvent(event);
    };
    this.#accept({
      message: (data) => dispatch(messageEvent(data)),
      close: (code, reason, wasClean) => {
        release?.();
        dispatch(closeEvent(code, reason, wasClean));
      },
      error: (error) => {
        release?.();
        dispatch(errorEvent(error));
      },
    });
  }

  /** `ctx.acceptWebSocket()`: incoming traffic goes to the actor (the receiver wakes it). */
  acceptForActor(receiver: SocketReceiver, tags: readonly string[]): void {
    this.#checkAcceptable("acceptWebSocket()");
    this.#acceptedAs = "actor";
    this.tags = tags;
    this.#accept(receiver);
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.accepted) throw new TypeError("You must call accept() on this WebSocket before sending messages.");
    if (this.readyState !== READY_STATE.OPEN) throw new TypeError("Can't call WebSocket send() after close().");
    const message = typeof data === "string" ? data : copyBytes(data);
    const link = this.#link;
    if (!link) return;
    const owner = currentSocketOwner();
    if (owner) owner.output(() => link.send(message));
    else link.send(message);
  }

  /** Closes without checking the code: the host closes with 1001 at shut-down. */
  close(code = 1000, reason = ""): void {
    if (this.readyState >= READY_STATE.CLOSING) return;
    this.readyState = READY_STATE.CLOSING;
    const link = this.#link;
    if (!link) return;
    const owner = currentSocketOwner();
    if (owner) owner.output(() => link.close(code, reason));
    else link.close(code, reason);
  }

  serializeAttachment(value: unknown): void {
    const bytes = serialize(value);
    if (bytes.length > MAX_ATTACHMENT_BYTES) {
      throw new RangeError(
        `A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes (this one serializes to ${bytes.length}).`,
      );
    }
    this.attachment = bytes;
  }

  deserializeAttachment(): unknown {
    return this.attachment === undefined ? null : deserialize(this.attachment);
  }

  // Incoming, from the peer or the network

  receive(data: SocketMessage): void {
    this.#incoming({ kind: "message", data });
  }

  receiveClose(code: number, reason: string, wasClean: boolean): void {
    if (this.readyState === READY_STATE.CLOSED) return;
    this.readyState = READY_STATE.CLOSED;
    this.#incoming({ kind: "close", code, reason, wasClean });
  }

  receiveError(error: unknown): void {
    if (this.readyState === READY_STATE.CLOSED) return;
    this.readyState = READY_STATE.CLOSED;
    this.#incoming({ kind: "error", error });
  }

  /** Traffic that arrived before anyone accepted this end (a client end spliced to the network forwards it). */
  takeQueued(): Incoming[] {
    const queued = this.#queue;
    this.#queue = [];
    return queued;
  }

  #checkAcceptable(what: string): void {
    if (this.spliced) throw new TypeError(`Can't call ${what} on a WebSocket returned in a 101 response.`);
    if (this.#acceptedAs === "actor") throw new TypeError(`Can't call ${what}: this WebSocket was already accepted with acceptWebSocket().`);
    if (this.#acceptedAs === "events") throw new TypeError(`Can't call ${what}: this WebSocket was already accepted.`);
  }

  #accept(receiver: SocketReceiver): void {
    this.#receiver = receiver;
    for (const item of this.takeQueued()) deliver(receiver, item);
  }

  #incoming(item: Incoming): void {
    if (this.#receiver) deliver(this.#receiver, item);
    else this.#queue.push(item);
  }
}

function deliver(receiver: SocketReceiver, item: Incoming): void {
  if (item.kind === "message") receiver.message(item.data);
  else if (item.kind === "close") receiver.close(item.code, item.reason, item.wasClean);
  else receiver.error(item.error);
}

function copyBytes(data: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data.slice(0);
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return view.slice().buffer;
}

export type { SocketOwner };
