import { currentSocketOwner } from "./owner.ts";

/**
 * Event listeners of Workers WebSockets, guarded. Node reports an exception thrown by an EventTarget
 * listener (or a rejection of an async one) as an uncaught exception, which would end the whole
 * server for one faulty handler. Here a listener's exception fails the event it ran in (its writes
 * are undone, its messages dropped) and is logged; a later rejection of an async listener is logged.
 */

/** Errors thrown by listeners during the dispatch running now (undefined outside a guarded dispatch). */
let sink: unknown[] | undefined;

/** The listener that stands in for `listener`: same calls, exceptions caught. */
export function guardListener(listener: EventListenerOrEventListenerObject): EventListener {
  return function guarded(this: unknown, event: Event): void {
    try {
      const result: unknown =
        typeof listener === "function" ? (listener as (this: unknown, event: Event) => unknown).call(this, event) : listener.handleEvent(event);
      if (isThenable(result)) result.then(undefined, (error: unknown) => report(error));
    } catch (error) {
      if (sink) sink.push(error);
      else report(error);
    }
  };
}

/** Dispatches `event` on `target`; returns what its listeners threw (they all ran). */
export function dispatchGuarded(target: EventTarget, event: Event): unknown[] {
  const outer = sink;
  const errors: unknown[] = [];
  sink = errors;
  try {
    target.dispatchEvent(event);
  } finally {
    sink = outer;
  }
  return errors;
}

function report(error: unknown): void {
  const owner = currentSocketOwner();
  if (owner) owner.reportError(error);
  else console.error("[hearth] a WebSocket event listener failed:", error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
