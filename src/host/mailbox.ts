import { carryContext, nextEntry, runEvent, type HostEvent } from "./event-context.ts";

interface Entry {
  task: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  exclusive: boolean;
  /** The sender's context (its trace): the drain loop otherwise runs later tasks in the first sender's. */
  carried: unknown;
}

export interface MailboxHooks {
  /**
   * The event finished: keep (or, if it failed, undo) its writes. Returns a promise when its result
   * must wait until they are durable (the output gate).
   */
  settle(event: object, failed: boolean): Promise<void> | undefined;
  /** The event is still running after a full event-loop turn: it awaits outside I/O. */
  yielded(event: object): void;
  /** Nothing queued and nothing running. */
  idle(): void;
}

/**
 * One agent's input gate. Events start one at a time in arrival order. The next one starts when the
 * current one finishes, or when it has been waiting on outside I/O (a fetch, a timer, another agent)
 * for a full turn of the event loop — as in Durable Objects, where awaiting storage keeps the gate
 * shut but awaiting the network opens it. Exclusive events (start-up, blockConcurrencyWhile) keep the
 * gate shut until they finish.
 */
export class Mailbox {
  readonly #queue: Entry[] = [];
  readonly #hooks: MailboxHooks;
  #holder: object | undefined;
  #holderExclusive = false;
  #running = 0;
  #pumping = false;
  /** The async event to check at the end of this turn; one pending check per mailbox at most. */
  #checkTarget: object | undefined;
  #checkScheduled = false;
  /** The runtime (cell) of the agent whose events these are: its events carry it (event-context.ts `owner`). */
  readonly owner: object | undefined;

  constructor(hooks: MailboxHooks, owner?: object) {
    this.#hooks = hooks;
    this.owner = owner;
  }

  /** True while events are queued or running. */
  get busy(): boolean {
    return this.#running > 0 || this.#queue.length > 0;
  }

  deliver<T>(task: () => T | Promise<T>, exclusive = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ task, resolve: resolve as (value: unknown) => void, reject, exclusive, carried: carryContext() });
      this.#pump();
    });
  }

  /** True when `event` holds the gate and keeps it shut until it finishes. */
  holdsExclusively(event: object | undefined): boolean {
    return event !== undefined && this.#holder === event && this.#holderExclusive;
  }

  /** Fails every queued event (the agent could not start). */
  rejectQueued(error: unknown): void {
    for (const entry of this.#queue.splice(0)) entry.reject(error);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#holder === undefined && this.#queue.length > 0) this.#start(this.#queue.shift()!);
    } finally {
      this.#pumping = false;
    }
  }

  #start(entry: Entry): void {
    const event: HostEvent = { carried: entry.carried, entered: nextEntry(), owner: this.owner };
    this.#running++;
    this.#holder = event;
    this.#holderExclusive = entry.exclusive;
    let result: unknown;
    try {
      result = runEvent(event, entry.task);
    } catch (error) {
      this.#finish(event, entry, true, error);
      return;
    }
    if (!isPromiseLike(result)) {
      this.#finish(event, entry, false, result);
      return;
    }
    result.then(
      (value) => this.#finish(event, entry, false, value),
      (error: unknown) => this.#finish(event, entry, true, error),
    );
    if (entry.exclusive) return;
    this.#checkTarget = event;
    if (!this.#checkScheduled) {
      this.#checkScheduled = true;
      setImmediate(this.#checkYielded);
    }
  }

  /** End of turn: if the event holding the gate is still running, it awaits outside I/O. */
  readonly #checkYielded = (): void => {
    this.#checkScheduled = false;
    const event = this.#checkTarget;
    this.#checkTarget = undefined;
    if (event === undefined || this.#holder !== event) return; // finished (finish clears the holder)
    this.#hooks.yielded(event);
    this.#holder = undefined;
    this.#pump();
  };

  #finish(event: object, entry: Entry, failed: boolean, value: unknown): void {
    this.#running--;
    let durable: Promise<void> | undefined;
    try {
      durable = this.#hooks.settle(event, failed);
    } catch (error) {
      if (!failed) {
        failed = true;
        value = error;
      }
    }
    if (this.#holder === event) this.#holder = undefined;
    if (failed) entry.reject(value);
    else if (durable === undefined) entry.resolve(value);
    else durable.then(() => entry.resolve(value), entry.reject);
    // The next event starts now and joins the same transaction: one commit for the whole turn.
    this.#pump();
    if (!this.busy) this.#hooks.idle();
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
