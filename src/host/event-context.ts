import { carriedOfFrame, eventOfFrame, runInEventFrame } from "../agent/context.ts";

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
   * request. Work left running reads it from the event's context frame instead ({@link frameContext}).
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
 * is sent and keeps the result on the event while it runs, and in the event's context frame for what
 * the event leaves running ({@link frameContext}); `enter`, when given, runs the event inside it (for
 * a context kept where the carrier cannot read it from the event: a global context manager's). Set by
 * the tracer while tracing is on.
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

/** Runs `fn` as `event`, its carried context in its frame: inside the carrier's context too when the carrier enters one. */
export function runEvent<T>(event: HostEvent, fn: () => T): T {
  const enter = carrier?.enter;
  const carried = event.carried;
  if (enter === undefined || carried === undefined) return runInEventFrame(event, event.owner, fn, carried, event.entered);
  return enter(carried, () => runInEventFrame(event, event.owner, fn, carried, event.entered));
}

/**
 * The context carried into the event whose frame this is (by its sender's carrier), and when that
 * event began (see {@link nextEntry}); kept by the frames made inside it and by the work it leaves
 * running. Undefined outside events, or where nothing was carried.
 */
export function frameContext(): { carried: unknown; entered: number } | undefined {
  const frame = carriedOfFrame();
  return frame?.carried === undefined ? undefined : frame;
}
