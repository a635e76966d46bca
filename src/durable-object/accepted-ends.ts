import { currentEvent } from "../host/event-context.ts";
import type { SocketEnd } from "../websocket/end.ts";
import { endOf, type WorkersWebSocket } from "../websocket/socket.ts";

/**
 * The socket ends a Durable Object instance accepted (`acceptWebSocket` or `accept()`), so that none
 * outlives what can reach it:
 * - When a `fetch` ends without handing out an end's other end — it returned no 101, or a 101 with
 *   another socket, or it threw — nobody can ever reach that socket: it is closed as the Workers
 *   runtime closes one whose client end was dropped (1006, `webSocketClose` called or the `close` event
 *   dispatched), so it neither lingers in `getWebSockets()` nor keeps the object in memory.
 * - A socket accepted with `accept()` keeps the instance in memory while it is open (its listeners live
 *   there); when the instance is stopped all the same (its facet aborted or deleted), it closes (1001).
 */
export class AcceptedEnds {
  readonly #byEvent = new WeakMap<object, SocketEnd[]>();
  /** Ends accepted with `accept()` and still open. */
  readonly #open = new Set<SocketEnd>();

  /** `end` was accepted with `accept()`, holding the instance until `release` (at its close); returns what ends the hold. */
  holdOpen(end: SocketEnd, release: () => void): () => void {
    this.add(end);
    this.#open.add(end);
    return () => {
      this.#open.delete(end);
      release();
    };
  }

  /** The instance stopped: its `accept()`ed sockets close with 1001 and `reason`. */
  closeOpen(reason: string): void {
    for (const end of this.#open) end.close(1001, reason);
    this.#open.clear();
  }

  /** `end` was accepted in the running event (if any). */
  add(end: SocketEnd): void {
    const event = currentEvent();
    if (event === undefined) return;
    const ends = this.#byEvent.get(event);
    if (ends) ends.push(end);
    else this.#byEvent.set(event, [end]);
  }

  /** `event` (a fetch) ended, handing out `returned` (its 101's socket) if anything: closes the ends it accepted that nobody can reach. */
  closeUnreachable(event: object, returned: WorkersWebSocket | null | undefined): void {
    const ends = this.#byEvent.get(event);
    if (ends === undefined) return;
    this.#byEvent.delete(event);
    const handedOut = returned ? endOf(returned) : undefined;
    for (const end of ends) if (end.peer !== handedOut) end.dropUnusedPeer();
  }
}
