import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
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
 * gate shut until they finish; so does a critical section (a `ctx.storage.transaction()` closure)
 * until it settles.
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
  /** The critical section holding the gate: the event it runs for, and how many are nested in it. */
  #section: { event: object | undefined; depth: number } | undefined;
  /** The runtime (cell) of the agent whose events these are: its events carry it (event-context.ts `owner`). */
  readonly owner: object | undefined;

  constructor(hooks: MailboxHooks, owner?: object) {
    this.#hooks = hooks;
    this.owner = owner;
  }

  /** True while events are queued or running, or a critical section holds the gate. */
  get busy(): boolean {
    return this.#running > 0 || this.#queue.length > 0 || this.#section !== undefined;
  }

  deliver<T>(task: () => T | Promise<T>, exclusive = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ task, resolve: resolve as (value: unknown) => void, reject, exclusive, carried: carryContext() });
      this.#pump();
    });
  }

  /** True when `event` holds the gate and keeps it shut until it finishes, or runs the critical section that does. */
  holdsExclusively(event: object | undefined): boolean {
    return event !== undefined && ((this.#holder === event && this.#holderExclusive) || this.#section?.event === event);
  }

  /**
   * Runs `fn` with the gate shut to every other event, in the caller's context (its writes are
   * `event`'s): at once when `event` holds the gate — it then keeps it until `fn` settles, even while
   * `fn` awaits outside I/O or after `event` finished — else once the events queued before it are done.
   * Inside a section of the same event (or an exclusive event of it) it runs at once, nested.
   */
  criticalSection<T>(event: object | undefined, fn: () => Promise<T>): Promise<T> {
    if (event !== undefined && (this.#holder === event || this.#section?.event === event)) return this.#inSection(event, fn);
    // An exclusive event of its own holds the gate for it; when the gate is free it starts at once.
    let release: (() => void) | undefined;
    const acquired = new Promise<() => void>((resolve, reject) => {
      const hold = () => new Promise<void>((done) => resolve((release = done)));
      this.deliver(hold, true).catch(reject);
    });
    const run = (done: () => void): Promise<T> => {
      const result = this.#inSection(event, fn);
      result.then(done, done);
      return result;
    };
    return release === undefined ? acquired.then(run) : run(release);
  }

  async #inSection<T>(event: object | undefined, fn: () => Promise<T>): Promise<T> {
    const section = (this.#section ??= { event, depth: 0 });
    section.depth++;
    try {
      return await fn();
    } finally {
      if (--section.depth === 0) {
        this.#section = undefined;
        this.#reopen(event);
      }
    }
  }

  /** A critical section ended: the next event starts, or the event holding the gate may yield it again as usual. */
  #reopen(event: object | undefined): void {
    if (this.#holder === undefined) {
      this.#pump();
      if (!this.busy) this.#hooks.idle();
    } else if (this.#holder === event && !this.#holderExclusive) this.#checkAtEndOfTurn(event);
  }

  /** Fails every queued event (the agent could not start). */
  rejectQueued(error: unknown): void {
    for (const entry of this.#queue.splice(0)) entry.reject(error);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#holder === undefined && this.#section === undefined && this.#queue.length > 0) this.#start(this.#queue.shift()!);
    } finally {
      this.#pumping = false;
    }
  }

  #start(entry: Entry): void {
    const event: HostEvent = { carried: entry.carried, entered: nextEntry(), owner: this.owner, done: false };
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
    if (!entry.exclusive) this.#checkAtEndOfTurn(event);
  }

  #checkAtEndOfTurn(event: object): void {
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
    if (this.#section !== undefined) return; // a critical section keeps the gate; its end looks again
    this.#hooks.yielded(event);
    this.#holder = undefined;
    this.#pump();
  };

  #finish(event: HostEvent, entry: Entry, failed: boolean, value: unknown): void {
    event.done = true;
    event.carried = undefined; // see HostEvent.carried
    entry.carried = undefined;
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
    if (event.afterOutput !== undefined) afterOutput(event.afterOutput, durable);
    // The next event starts now and joins the same transaction: one commit for the whole turn.
    this.#pump();
    if (!this.busy) this.#hooks.idle();
  }
}

/** Runs what waited for an event's output (HostEvent.afterOutput), once it is released or refused. */
function afterOutput(tasks: Array<() => void>, released: Promise<void> | undefined): void {
  const run = () => {
    for (const task of tasks) {
      try {
        task();
      } catch (error) {
        console.error("[hearth] a task after an event's output failed:", error);
      }
    }
  };
  if (released === undefined) run();
  else released.then(run, run);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
