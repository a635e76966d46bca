import type { MessagePort } from "node:worker_threads";
import type { LinkMessage } from "./messages.ts";

/** A call waiting in its line: its message once ready, `null` once it will never leave. */
interface Waiting {
  readonly id: number;
  message: LinkMessage | undefined | null;
}

/**
 * What one shard sends another over their port. Everything sent in one turn of the event loop leaves
 * in one postMessage: under load that is one structured clone and one wake-up of the other thread per
 * turn instead of one per message.
 *
 * Calls to one agent keep the order they were made in (decision 0018), also when one of them must
 * first read its request's body: it takes its place in the agent's line at once, and the calls made
 * after it wait there until it leaves. Other messages (answers, acks, frames) never wait.
 * @example
 * outbox.inLine("Counter/a", id, requestToWire(request).then((wire) => ({ t: "call", id, op: "request", … })));
 * outbox.inLine("Counter/a", id + 1, { t: "call", id: id + 1, op: "invoke", … }); // leaves after the request
 */
export class Outbox {
  readonly #port: MessagePort;
  /** A message of the batch that cannot be cloned: told here instead, so its caller hears of it. */
  readonly #unsendable: (message: LinkMessage, error: unknown) => void;
  #batch: LinkMessage[] = [];
  /** Calls waiting behind one whose message is not ready yet, by line. */
  readonly #lines = new Map<string, Waiting[]>();
  #closed = false;

  constructor(port: MessagePort, unsendable: (message: LinkMessage, error: unknown) => void) {
    this.#port = port;
    this.#unsendable = unsendable;
  }

  /** The message sent last in this turn, if it has not left yet (acks and frames join it). */
  last(): LinkMessage | undefined {
    return this.#batch.at(-1);
  }

  send(message: LinkMessage): void {
    if (this.#batch.push(message) === 1) process.nextTick(() => this.#flush());
  }

  /**
   * Sends the call `id` once `message` is ready, after every call put in `line` before it. A message
   * that fails to come (its request could not be read) is skipped: its caller is told by whoever made it.
   */
  inLine(line: string, id: number, message: LinkMessage | Promise<LinkMessage>): void {
    const waiting = this.#lines.get(line);
    if (waiting === undefined && !(message instanceof Promise)) return this.send(message);
    const entry: Waiting = { id, message: message instanceof Promise ? undefined : message };
    if (waiting === undefined) this.#lines.set(line, [entry]);
    else waiting.push(entry);
    if (message instanceof Promise) {
      void message.then(
        (ready) => this.#ready(line, entry, ready),
        () => this.#ready(line, entry, null),
      );
    }
  }

  /** Takes the call `id` out of its line if it has not left: whether it was still there. */
  withdraw(id: number): boolean {
    for (const [line, waiting] of this.#lines) {
      const entry = waiting.find((candidate) => candidate.id === id);
      if (entry === undefined || entry.message === null) continue;
      entry.message = null;
      this.#drain(line);
      return true;
    }
    return false;
  }

  close(): void {
    this.#closed = true;
    this.#lines.clear();
  }

  #ready(line: string, entry: Waiting, message: LinkMessage | null): void {
    if (entry.message === null) return; // withdrawn meanwhile
    entry.message = message;
    this.#drain(line);
  }

  /** Sends the calls at the head of `line` that are ready (or skips those that will never be). */
  #drain(line: string): void {
    const waiting = this.#lines.get(line);
    if (waiting === undefined) return;
    while (waiting.length > 0 && waiting[0]!.message !== undefined) {
      const { message } = waiting.shift()!;
      if (message) this.send(message);
    }
    if (waiting.length === 0) this.#lines.delete(line);
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0 || this.#closed) return;
    try {
      this.#port.postMessage(batch);
    } catch {
      // Something in the batch cannot be cloned (a function in an RPC result, say): send one by one,
      // and tell what fails.
      for (const message of batch) {
        try {
          this.#port.postMessage([message]);
        } catch (error) {
          this.#unsendable(message, error);
        }
      }
    }
  }
}
