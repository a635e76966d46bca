import { serialize } from "node:v8";
import { deserializeClone } from "../web/structured-clone.ts";
import { DISCONNECTED } from "./close-reason.ts";
import { closeEvent, errorEvent, messageEvent, type SocketMessage } from "./events.ts";
import { dispatchGuarded } from "./listeners.ts";
import { outgoingMessage } from "./outgoing-message.ts";
import { currentSocketOwner, type SocketOwner } from "./owner.ts";

export const READY_STATE = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** The largest serialized attachment of one WebSocket (Cloudflare's limit). */
export const MAX_ATTACHMENT_BYTES = 16_384;

/** The Workers runtime's text for send() or close() on a socket nobody accepted. */
export const NOT_ACCEPTED = "You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.";

/** Where an end's outgoing traffic goes: its peer end in memory, or a network socket. */
export interface SocketLink {
  send(data: SocketMessage): void;
  /** `code` undefined: a close frame without a status (the peer sees 1005). */
  close(code: number | undefined, reason: string): void;
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
  url: string | null = null;
  protocol = "";
  /** The serialized attachment (structured clone), or undefined. */
  attachment: Uint8Array | undefined;
  /** Tags given to `ctx.acceptWebSocket`. */
  tags: readonly string[] = [];
  /** When the actor's auto-response last answered on this socket. */
  autoResponseAt: Date | null = null;
  /** Set once this end was handed to the runtime in a 101 response: it is spliced to the network. */
  spliced = false;
  /** The other end of its pair. */
  peer: SocketEnd | undefined;
  #link: SocketLink | undefined;
  #receiver: SocketReceiver | undefined;
  #queue: Incoming[] = [];
  #acceptedAs: "none" | "events" | "actor" | "runtime" = "none";
  /** Code on this side called close(): a send now is a bug worth an error. */
  #closedByCall = false;
  /** A close frame went out (a close() call, or the automatic reply to the peer's close). */
  #closedOutgoing = false;
  /** The peer closed, or the connection failed: nothing more arrives. */
  #closedIncoming = false;

  /** OPEN; CLOSING once one direction is closed; CLOSED once both are (or the connection failed). */
  get readyState(): number {
    if (this.#closedOutgoing && this.#closedIncoming) return READY_STATE.CLOSED;
    return this.#closedOutgoing || this.#closedIncoming ? READY_STATE.CLOSING : READY_STATE.OPEN;
  }

  get accepted(): boolean {
    return this.#acceptedAs !== "none";
  }

  get hibernatable(): boolean {
    return this.#acceptedAs === "actor";
  }

  /** True once no close frame can be sent any more: a close() now does nothing. */
  get outgoingClosed(): boolean {
    return this.#closedOutgoing;
  }

  link(link: SocketLink): void {
    this.#link = link;
  }

  /** `accept()`: incoming traffic becomes events dispatched on `target`, in its owner's gate. A second call does nothing. */
  acceptWithEvents(target: EventTarget): void {
    if (this.spliced) throw new TypeError("Can't accept() WebSocket that was already used in a response.");
    if (this.#acceptedAs === "actor") throw new TypeError("Can't accept() WebSocket after enabling hibernation.");
    if (this.#acceptedAs === "events") return;
    this.#acceptedAs = "events";
    const owner = currentSocketOwner();
    // An open socket keeps its Durable Object in memory: its listeners live in that instance.
    const release = owner?.hold(this);
    // A listener that throws fails the event it ran in (through the owner's gate), and is logged.
    const fire = (event: Event): void => {
      const errors = dispatchGuarded(target, event);
      if (errors.length > 0) throw errors[0];
    };
    const dispatch = (event: Event): void => {
      if (owner) owner.run(() => fire(event));
      else {
        for (const error of dispatchGuarded(target, event)) console.error("[hearth] a WebSocket event listener failed:", error);
      }
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

  /** Throws the Workers runtime's error when `ctx.acceptWebSocket()` may not take this end. */
  checkAcceptableForActor(): void {
    if (this.#acceptedAs === "events") throw new Error("Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`");
    if (this.#acceptedAs === "actor") throw new Error("Cannot call `acceptWebSocket()` twice on the same WebSocket");
    if (this.spliced || this.peer?.accepted || this.peer?.spliced) {
      throw new Error("Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.");
    }
  }

  /** `ctx.acceptWebSocket()`: incoming traffic goes to the actor (the receiver wakes it). */
  acceptForActor(receiver: SocketReceiver, tags: readonly string[]): void {
    this.checkAcceptableForActor();
    this.#acceptedAs = "actor";
    this.tags = tags;
    this.#accept(receiver);
  }

  /** Taken by the runtime itself, for a connection it relays (an outbound WebSocket): incoming traffic goes to `receiver`. */
  acceptForRuntime(receiver: SocketReceiver): void {
    this.#acceptedAs = "runtime";
    this.#accept(receiver);
  }

  /**
   * `ws.send()`: the value converted first, as the Workers runtime converts it (outgoing-message.ts);
   * refused before accept and after this side's close(); dropped once the peer is gone.
   */
  send(data: unknown): void {
    const message = outgoingMessage(data);
    if (!this.accepted) throw new TypeError(NOT_ACCEPTED);
    if (this.#closedByCall) throw new TypeError("Can't call WebSocket send() after close().");
    // The peer closed or the connection failed: the Workers runtime drops such sends silently.
    if (this.#closedOutgoing || this.#closedIncoming) return;
    const link = this.#link;
    if (!link) return;
    const owner = currentSocketOwner();
    if (owner) owner.output(() => link.send(message));
    else link.send(message);
  }

  /**
   * Closes this side (once; later calls do nothing). User code goes through `WorkersWebSocket.close`,
   * which checks the code; the host closes with 1001 at shut-down. A close made in an actor's event
   * leaves with that event's output: if the event fails, the close is undone with the rest of it.
   */
  close(code?: number, reason = ""): void {
    this.#closedByCall = true;
    if (this.#closedOutgoing) return;
    this.#closedOutgoing = true;
    const link = this.#link;
    if (!link) return;
    const owner = currentSocketOwner();
    if (owner) owner.output(() => link.close(code, reason), () => this.#undoClose());
    else link.close(code, reason);
  }

  /**
   * The close frame held for a failed event was dropped: the peer never learns of it, so the socket
   * is open again — it can send, and close again. A close from the peer that came meanwhile stands.
   */
  #undoClose(): void {
    this.#closedByCall = false;
    if (!this.#closedIncoming) this.#closedOutgoing = false;
  }

  serializeAttachment(value: unknown): void {
    const bytes = serialize(value);
    if (bytes.length > MAX_ATTACHMENT_BYTES) {
      // The Workers runtime's text, missing space included, so code matching on it works here too.
      throw new Error(`A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes.'attachment' was ${bytes.length} bytes.`);
    }
    this.attachment = bytes;
  }

  deserializeAttachment(): unknown {
    return this.attachment === undefined ? null : deserializeClone(this.attachment);
  }

  /**
   * The other end of the pair was dropped unused (never returned in a 101, never accepted): nothing can
   * reach this one any more, and it sees an abnormal closure, as in the Workers runtime. False when the
   * other end was used.
   */
  dropUnusedPeer(): boolean {
    const peer = this.peer;
    if (!peer || peer.accepted || peer.spliced) return false;
    peer.spliced = true;
    this.receiveClose(1006, DISCONNECTED, false);
    return true;
  }

  // Incoming, from the peer or the network

  receive(data: SocketMessage): void {
    if (this.#closedIncoming) return;
    this.#incoming({ kind: "message", data });
  }

  /** The peer closed. The close is answered at once (as the Workers runtime does), so the socket is CLOSED. */
  receiveClose(code: number, reason: string, wasClean: boolean): void {
    if (this.#closedIncoming) return;
    this.#closedIncoming = true;
    this.#closedOutgoing = true;
    this.#incoming({ kind: "close", code, reason, wasClean });
  }

  receiveError(error: unknown): void {
    if (this.#closedIncoming) return;
    this.#closedIncoming = true;
    this.#closedOutgoing = true;
    this.#incoming({ kind: "error", error });
  }

  /** Traffic that arrived before anyone accepted this end (a client end spliced to the network forwards it). */
  takeQueued(): Incoming[] {
    const queued = this.#queue;
    this.#queue = [];
    return queued;
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

export type { SocketOwner };
