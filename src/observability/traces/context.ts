import { AsyncLocalStorage } from "node:async_hooks";
import { context as otelContext, createContextKey, ROOT_CONTEXT, type Context } from "@opentelemetry/api";

/**
 * Where the active trace context lives. When the application registered an OpenTelemetry context
 * manager, Hearth uses it (so its spans and the application's nest in one tree); otherwise Hearth keeps
 * its own AsyncLocalStorage, and never registers a global manager itself — an application that
 * registers its SDK later must not find the slot taken.
 */
const own = new AsyncLocalStorage<Context>();
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

/** The active trace context (ROOT_CONTEXT outside any span). */
export function activeContext(): Context {
  return useGlobal ? otelContext.active() : (own.getStore() ?? ROOT_CONTEXT);
}

/** Runs `fn` with `ctx` as the active trace context, across its awaits. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return useGlobal ? otelContext.with(ctx, fn) : own.run(ctx, fn);
}
