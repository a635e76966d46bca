import { AsyncLocalStorage } from "node:async_hooks";
import type { SocketEnd } from "./end.ts";

/**
 * The actor whose event is running, as the WebSocket layer needs it: a socket accepted (or written to)
 * inside an actor's event belongs to that actor. Its incoming events pass the actor's input gate, its
 * outgoing messages its output gate, and an open socket keeps the actor in memory.
 */
export interface SocketOwner {
  /** Runs `event` as one event of the actor (through its mailbox). */
  run(event: () => void): void;
  /**
   * Sends once the writes made so far are committed (the output gate). If they never are (the event
   * fails, its transaction is undone), `send` never runs and `dropped` runs instead.
   */
  output(send: () => void, dropped?: () => void): void;
  /** `end` was accepted with `accept()` in the actor's event: keeps the actor in memory until the returned function is called. */
  hold(end: SocketEnd): () => void;
  /** Reports an error of the actor's code that no event can fail on (an async listener's rejection). */
  reportError(error: unknown): void;
}

const owners = new AsyncLocalStorage<SocketOwner>();

/** Runs `fn` with `owner` as the owner of the sockets it touches. */
export function runAsSocketOwner<T>(owner: SocketOwner, fn: () => T): T {
  return owners.run(owner, fn);
}

export function currentSocketOwner(): SocketOwner | undefined {
  return owners.getStore();
}
