import { clearTimeout as nodeClearTimeout } from "node:timers";
import { currentEvent, type HostEvent } from "./event-context.ts";

type Timer = ReturnType<typeof setTimeout>;

/** Each actor's timers, by the runtime its events carry as their owner (event-context.ts). */
const timersOf = new WeakMap<object, ActorTimers>();

/** Tracked timers looked over for finished ones once the set has grown by this much. */
const PRUNE_EVERY = 64;

/**
 * The `setTimeout` / `setInterval` timers an actor's code set (in one of its events, its constructor,
 * or a callback of such a timer), as Durable Objects count them: while one is pending the actor does
 * not hibernate, and once its instance leaves memory none of them fires again — a new instance never
 * runs beside an old one that is still ticking.
 *
 * Only timers that keep the process alive count (`hasRef()`): one a library unref'd (Node's fetch
 * does, for its own clock) is the process's, not the actor's. A one-shot timer set by an event that
 * is still running when the instance closes (a facet aborted mid-call) still fires, so that event can
 * end instead of waiting forever; an interval never does.
 */
export class ActorTimers {
  /** Each timer with the event that set it (null for an interval). */
  readonly #timers = new Map<Timer, HostEvent | null>();
  #pruneAt = PRUNE_EVERY;
  #closed = false;

  constructor(owner: object) {
    timersOf.set(owner, this);
    installTimerTracking();
  }

  /** A timer of the actor's code is pending: it keeps the actor in memory. */
  get pending(): boolean {
    for (const timer of this.#timers.keys()) {
      if (owns(timer)) return true;
      this.#timers.delete(timer);
    }
    return false;
  }

  /** The instance left memory: its timers are cancelled, as are any it sets from now on. */
  close(): void {
    this.#closed = true;
    for (const [timer, event] of this.#timers) if (cancels(timer, event)) nodeClearTimeout(timer);
    this.#timers.clear();
  }

  add(timer: Timer, event: HostEvent, repeats: boolean): void {
    // Node's Timeout marks itself `_destroyed` once fired or cleared; fake timers (a test's) never do: not tracked.
    if (typeof (timer as Timer & { _destroyed?: unknown })?._destroyed !== "boolean") return;
    if (this.#closed) {
      // Once the code that set it had its chance to unref it (Node's libraries do so at once).
      queueMicrotask(() => cancels(timer, repeats ? null : event) && nodeClearTimeout(timer));
      return;
    }
    this.#timers.set(timer, repeats ? null : event);
    if (this.#timers.size < this.#pruneAt) return;
    for (const tracked of this.#timers.keys()) if (!owns(tracked)) this.#timers.delete(tracked);
    this.#pruneAt = this.#timers.size + PRUNE_EVERY;
  }
}

/**
 * Pending and keeping the process alive: the actor's. Node marks a timer that fired (one-shot) or was
 * cleared `_destroyed`; `hasRef()` alone still says true then.
 */
function owns(timer: Timer): boolean {
  return timer.hasRef() && (timer as Timer & { _destroyed?: boolean })._destroyed !== true;
}

/** Whether a closed instance's timer is cancelled: one its code owns, unless an event still running awaits it. */
function cancels(timer: Timer, event: HostEvent | null): boolean {
  return owns(timer) && (event === null || event.done === true);
}

/** Marks the wrappers below. */
const TRACKING: unique symbol = Symbol("hearth.actorTimerTracking");
const isTracking = (fn: unknown): boolean => (fn as Record<symbol, unknown> | undefined)?.[TRACKING] === true;

/**
 * Puts the tracking in front of the global `setTimeout` and `setInterval` (idempotent; again when
 * something replaced them since, a test's fake timers say). Code outside actors' events gets Node's
 * timers unchanged; Hearth's own process-wide timers use `node:timers`.
 */
function installTimerTracking(): void {
  if (isTracking(globalThis.setTimeout) && isTracking(globalThis.setInterval)) return;
  const wrap = <F extends (...args: never[]) => Timer>(original: F, repeats: boolean): F => {
    // Ours already (put back by fake timers that wrapped it): wrapping it again would count twice, and nest once more per round.
    if (isTracking(original)) return original;
    const wrapped = function (this: unknown, ...args: Parameters<F>): Timer {
      const timer = original.apply(this, args);
      const event = currentEvent();
      const owner = event?.owner;
      if (owner !== undefined) timersOf.get(owner)?.add(timer, event!, repeats);
      return timer;
    } as unknown as F;
    // What the original carries goes with it: `util.promisify`'s custom form (`promisify.custom`), and the marks fake timers
    // read back when they put the real ones back (vitest's delete the global when the one they find lacks them).
    for (const key of Reflect.ownKeys(original)) {
      if (key === "length" || key === "name" || key === "prototype") continue;
      Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(original, key)!);
    }
    Object.defineProperty(wrapped, TRACKING, { value: true });
    return wrapped;
  };
  globalThis.setTimeout = wrap(globalThis.setTimeout, false) as typeof setTimeout;
  globalThis.setInterval = wrap(globalThis.setInterval, true) as typeof setInterval;
}
