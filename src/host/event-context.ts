import { eventOfFrame, runInEventFrame } from "../agent/context.ts";

/**
 * The event (request, message, RPC…) whose code is running, followed across awaits. Storage uses it
 * as the owner of the implicit transaction, so one event's failure undoes only its own writes.
 */
export interface HostEvent {
  /**
   * What the context carrier captured when the event was sent (the sender's trace context), if any,
   * until the event finishes: then the mailbox drops it. An event object can outlive the event (work it
   * left running holds it) or be allocated in the old generation from the start (V8 does so for
   * objects made where earlier ones survived), and an old object keeps every young one it points to
   * alive until the next full collection — here a request's whole trace context, request after
   * request. Work left running reads the context from the frame the carrier entered instead.
   */
  carried: unknown;
  /**
   * The context of the event's own outermost work while it runs (its span), when its carrier put one
   * here instead of entering it: it then wins over `carried`. Set and cleared by the carrier's owner.
   */
  own?: unknown;
  /** Its place in the order contexts are entered (see {@link nextEntry}). */
  readonly entered: number;
  /** The runtime of the agent it was delivered to (whose scope may take its context frame; agent/context.ts). */
  readonly owner?: object;
  /** Set once the event finished (what it started may still run: a timer, a promise it did not await). */
  done?: boolean;
  /**
   * Run by the mailbox once the event finished and its output was released: what must come after its
   * last frame (the sockets of an agent it destroyed close after the reply of the call that did).
   */
  afterOutput?: Array<() => void>;
}

/** The running event: kept in the agent context's frame (agent/context.ts), with the event's agent scope. */
export const currentEvent = (): HostEvent | undefined => eventOfFrame() as HostEvent | undefined;

let entries = 0;

/**
 * A number that grows with every context entered. Of two contexts active at once, the one with the
 * higher number was entered inside the other: it is the innermost, whichever store holds it.
 */
export function nextEntry(): number {
  return ++entries;
}

/**
 * What carries a sender's context into the event it sends. The mailbox calls `capture` when an event
 * is sent and keeps the result on the event while it runs; `enter`, when given, runs the event inside
 * it (for a context the carrier cannot read from the event itself, or that work the event leaves
 * running must find once the event dropped it). Set by the tracer while tracing is on.
 */
export interface ContextCarrier {
  capture(): unknown;
  enter?<T>(carried: unknown, fn: () => T): T;
}

let carrier: ContextCarrier | undefined;

/** Sets (or, with undefined, removes) the context carrier. */
export function setContextCarrier(next: ContextCarrier | undefined): void {
  carrier = next;
}

/** The carrier's capture now, or undefined without one. */
export function carryContext(): unknown {
  return carrier?.capture();
}

/** Runs `fn` as `event`: in the carrier's context when it must be entered, else just with the event current. */
export function runEvent<T>(event: HostEvent, fn: () => T): T {
  const enter = carrier?.enter;
  if (enter === undefined || event.carried === undefined) return runInEventFrame(event, event.owner, fn);
  return enter(event.carried, () => runInEventFrame(event, event.owner, fn));
}
