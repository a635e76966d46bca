import { AsyncLocalStorage } from "node:async_hooks";
import { context as otelContext, createContextKey, ROOT_CONTEXT, type Context } from "@opentelemetry/api";
import { currentEvent, nextEntry, setContextCarrier, type ContextCarrier } from "../../host/event-context.ts";

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
  readonly #parent: LinkedContext | undefined;
  readonly #key: symbol | undefined;
  readonly #value: unknown;
  readonly #deleted: boolean;

  constructor(parent?: LinkedContext, key?: symbol, value?: unknown, deleted = false) {
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
 * event started by the mailbox carries its sender's context on the event itself (one context switch
 * per event, not two): whichever of that and the innermost {@link withContext} was entered last wins.
 */
export function activeContext(): Context {
  if (useGlobal) return otelContext.active();
  const frame = own.getStore();
  const event = currentEvent();
  if (event !== undefined && (frame === undefined || event.entered > frame.entered)) {
    const context = event.own ?? event.carried;
    if (context !== undefined) return context as Context;
  }
  return frame?.context ?? OWN_ROOT;
}

/**
 * Runs `fn` with `ctx` active, where `ctx` is the context of the current event's own outermost span:
 * put on the event while `fn` runs (no context frame: one per event is the costliest part of a span)
 * when the event's context is the active one and holds no span of its own yet; otherwise entered as
 * {@link withContext} does. `done` must be called once the span's work is over: it takes `ctx` off the
 * event again, so what the event does afterwards runs in the context it had before.
 */
export function withEventContext<T>(ctx: Context, fn: () => T): { result: T; done: () => void } {
  if (!useGlobal) {
    const event = currentEvent();
    const frame = own.getStore();
    if (event !== undefined && event.own === undefined && (frame === undefined || event.entered > frame.entered)) {
      event.own = ctx;
      const done = () => {
        if (event.own === ctx) event.own = undefined;
      };
      try {
        return { result: fn(), done };
      } catch (error) {
        done();
        throw error;
      }
    }
  }
  return { result: withContext(ctx, fn), done: NOTHING };
}

const NOTHING = (): void => {};

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
 * it runs (no frame per event), and entered as the event's outermost frame only when the frame the
 * event starts in holds another context — an event that waited in the queue starts in the frame of
 * whichever event's end started it, and a call from inside another event's span has that span on its
 * event, not in a frame — so that work the event leaves running, once the event dropped its context,
 * finds it there. `entered` 0: the event's own context still wins while it runs. Global manager:
 * entered for every event.
 */
const OWN_CARRIER: ContextCarrier = {
  capture: activeContext,
  enter: (carried, fn) => ((own.getStore()?.context ?? OWN_ROOT) === carried ? fn() : own.run({ context: carried as Context, entered: 0 }, fn)),
};
const GLOBAL_CARRIER: ContextCarrier = { capture: activeContext, enter: (carried, fn) => otelContext.with(carried as Context, fn) };

/** Starts (true) or stops carrying trace context into mailbox events. */
export function carryTraceContext(on: boolean): void {
  setContextCarrier(on ? (useGlobal ? GLOBAL_CARRIER : OWN_CARRIER) : undefined);
}
