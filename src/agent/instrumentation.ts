/**
 * What observability wraps around the core's units of work: each HTTP request the gateway serves
 * and each event an actor runs (a request, an RPC call, a message, a scheduled run). The core calls
 * the two functions below; until something is installed they only call `fn` — one check, so a
 * server nobody watches pays nothing. Observability (tracing, request ids for log lines) installs
 * itself through {@link setInstrumentation}; the core never imports it.
 */

/** The wrappers observability installs. */
export interface Instrumentation {
  /** Runs one HTTP request the gateway serves. */
  httpRequest(request: Request, fn: () => Promise<Response>): Promise<Response>;
  /**
   * Runs one event of an actor, named `event` (`onRequest`, `rpc`, `onMessage`, …) with an optional
   * `detail` (the method, the frame type). `root`: work a timer started, which begins its own trace.
   */
  actorEvent<T>(className: string, name: string, event: string, detail: string | undefined, fn: () => T, root: boolean): T;
  /** The id of the HTTP request running now (what its log lines carry), if it has one. */
  requestId?(): string | undefined;
}

let installed: Instrumentation | undefined;

/**
 * Installs (or, with undefined, removes) the process's instrumentation.
 * @example setInstrumentation({ httpRequest: traceHttpRequest, actorEvent: traceAgentEvent });
 */
export function setInstrumentation(instrumentation: Instrumentation | undefined): void {
  installed = instrumentation;
}

/** Runs one HTTP request inside whatever instrumentation is installed. */
export function instrumentHttpRequest(request: Request, fn: () => Promise<Response>): Promise<Response> {
  return installed === undefined ? fn() : installed.httpRequest(request, fn);
}

/**
 * The id of the HTTP request running now, as its log lines carry it: undefined when nothing
 * installed gives requests ids (no logger, no tracing).
 */
export function currentRequestId(): string | undefined {
  return installed?.requestId?.();
}

/** Runs one actor event inside whatever instrumentation is installed. */
export function instrumentActorEvent<T>(className: string, name: string, event: string, detail: string | undefined, fn: () => T, root = false): T {
  return installed === undefined ? fn() : installed.actorEvent(className, name, event, detail, fn, root);
}

const logged = new WeakSet<object>();

/** Marks an error an agent's default `onError` has logged, with the agent and the request: the gateway does not log it again. */
export function markErrorLogged(error: unknown): void {
  if (typeof error === "object" && error !== null) logged.add(error);
}

/** Whether an agent has logged this error already (see {@link markErrorLogged}). */
export function wasErrorLogged(error: unknown): boolean {
  return typeof error === "object" && error !== null && logged.has(error);
}
