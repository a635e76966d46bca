import { AsyncLocalStorage } from "node:async_hooks";
import { context as otelContext, createContextKey, ROOT_CONTEXT, trace, type Context, type Span } from "@opentelemetry/api";
import { currentEvent, frameContext, nextEntry, setContextCarrier, type ContextCarrier, type HostEvent } from "../../host/event-context.ts";

/**
 * Where the active trace context lives. When the application registered an OpenTelemetry context
 * manager, Hearth uses it (so its spans and the application's nest in one tree); otherwise Hearth keeps
 * its own AsyncLocalStorage, and never registers a global manager itself — an application that
 * registers its SDK later must not find the slot taken.
 */
const own = new AsyncLocalStorage<OwnFrame>();

/** A context entered with {@link withContext}, and when (see `nextEntry`). */
interface OwnFrame {
  readonly context: Context;
  readonly entered: number;
}

/**
 * Hearth's own contexts: one value per context with a link to its parent, so that starting a span
 * allocates one small object (`@opentelemetry/api`'s ROOT_CONTEXT copies a whole Map on every
 * `setValue`). Contexts hold a span and a caller or two: the walk up is short.
 */
class LinkedContext implements Context {
  readonly #parent: Context | undefined;
  readonly #key: symbol | undefined;
  readonly #value: unknown;
  readonly #deleted: boolean;

  constructor(parent?: Context, key?: symbol, value?: unknown, deleted = false) {
    this.#parent = parent;
    this.#key = key;
    this.#value = value;
    this.#deleted = deleted;
  }

  getValue(key: symbol): unknown {
    if (this.#key === key) return this.#deleted ? undefined : this.#value;
    return this.#parent?.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return new LinkedContext(this, key, undefined, true);
  }
}

/** Where a traced request keeps its id (log lines read it through the trace id source). */
export const REQUEST_ID = createContextKey("hearth.request.id");

/** The key `trace.setSpan` puts a span under, read off the call itself (the API does not export it). */
const SPAN_KEY: symbol = (() => {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue: (at) => ((key = at), probe),
    deleteValue: () => probe,
  };
  trace.setSpan(probe, trace.wrapSpanContext({ traceId: "1".repeat(32), spanId: "1".repeat(16), traceFlags: 0 }));
  return key!;
})();

/**
 * A traced request's context: its span and its id over `parent` in one object (`trace.setSpan` over
 * `setValue` would make two).
 */
class RequestContext implements Context {
  readonly #parent: Context;
  readonly #span: Span;
  readonly #requestId: string;

  constructor(parent: Context, span: Span, requestId: string) {
    this.#parent = parent;
    this.#span = span;
    this.#requestId = requestId;
  }

  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.#span;
    if (key === REQUEST_ID) return this.#requestId;
    return this.#parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return new LinkedContext(this, key, undefined, true);
  }
}

/** `parent` with `span` active in it and `requestId` as the request's id. */
export function requestContext(parent: Context, span: Span, requestId: string): Context {
  return new RequestContext(parent, span, requestId);
}

const OWN_ROOT: Context = new LinkedContext();
let useGlobal = false;

const PROBE = createContextKey("hearth.traces.probe");

/** True when a global OpenTelemetry context manager carries contexts (the application's SDK). */
export function globalContextManagerWorks(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return otelContext.with(probe, () => otelContext.active().getValue(PROBE) === true);
}

/** Chooses the global context manager (true) or Hearth's own storage (false). */
export function useGlobalContext(global: boolean): void {
  useGlobal = global;
}

/**
 * The active trace context (an empty context outside any span). In Hearth's own storage, an agent
 * event started by the mailbox carries its sender's context on the event itself, and in the event's
 * own context frame for what it leaves running (no frame of tracing's per event): whichever of that
 * and the innermost {@link withContext} was entered last wins.
 */
export function activeContext(): Context {
  if (useGlobal) return otelContext.active();
  const frame = own.getStore();
  const event = currentEvent();
  if (event !== undefined && (frame === undefined || event.entered > frame.entered)) {
    const context = event.own ?? event.carried;
    if (context !== undefined) return context as Context;
  }
  // Work an event left running, once the event dropped its context: the one carried into it.
  const left = frameContext();
  if (left !== undefined && (frame === undefined || left.entered > frame.entered)) return left.carried as Context;
  return frame?.context ?? OWN_ROOT;
}

/**
 * The event a span's context can be put on while the span's work runs, instead of entering it (no
 * context frame: one per event is the costliest part of a span): the current event, when its context
 * is the active one and holds no span of its own yet. Undefined otherwise: the context must then be
 * entered with {@link withContext}. The caller sets `own` and, once the span's work is over, takes it
 * off again with {@link releaseEventContext}, so what the event does afterwards runs in the context it
 * had before.
 */
export function eventToCarry(): HostEvent | undefined {
  if (useGlobal) return undefined;
  const event = currentEvent();
  if (event === undefined || event.own !== undefined) return undefined;
  const frame = own.getStore();
  return frame === undefined || event.entered > frame.entered ? event : undefined;
}

/** Takes `ctx` off `event` (from {@link eventToCarry}) unless something replaced it. */
export function releaseEventContext(event: HostEvent | undefined, ctx: Context): void {
  if (event !== undefined && event.own === ctx) event.own = undefined;
}

/** The empty context new traces start from. */
export function rootContext(): Context {
  return useGlobal ? ROOT_CONTEXT : OWN_ROOT;
}

/** Runs `fn` with `ctx` as the active trace context, across its awaits. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return useGlobal ? otelContext.with(ctx, fn) : own.run({ context: ctx, entered: nextEntry() }, fn);
}

/**
 * Carries the sender's trace context into each mailbox event. Own storage: read from the event while
 * it runs, and from the event's context frame (which the mailbox enters anyway) by the work it leaves
 * running once the event dropped it: no frame of its own per event — an event that waited in the
 * queue starts in the frame of whichever event's end started it, so it had to enter one, and at
 * ~0.4 µs that was one of the three frames of a traced request. Global manager: entered for every event.
 */
const OWN_CARRIER: ContextCarrier = { capture: activeContext };
const GLOBAL_CARRIER: ContextCarrier = { capture: activeContext, enter: (carried, fn) => otelContext.with(carried as Context, fn) };

/** Starts (true) or stops carrying trace context into mailbox events. */
export function carryTraceContext(on: boolean): void {
  setContextCarrier(on ? (useGlobal ? GLOBAL_CARRIER : OWN_CARRIER) : undefined);
}
