/**
 * Requests whose signal the gateway aborts when the client goes away, without handing the Request
 * constructor a signal to follow.
 *
 * Why: `new Request(url, { signal })` links the two signals with a WeakRef, a FinalizationRegistry
 * entry, an abort listener and a max-listeners bump — ~7 µs of CPU per request under load (12 % of
 * a one-agent POST), paid even though almost no request is ever aborted. Every Request makes its
 * own AbortController for its `signal` anyway; the gateway keeps that controller instead (caught
 * while the Request is built) and aborts it directly. The result is the same as linking: the
 * request's signal aborts with an AbortError, and so does every Request made from it
 * (`new Request(request)`, `fetch(request)`, `{ signal: request.signal }`, which follow that signal).
 * Clones are the one case the Request links through its own controller rather than its signal, so
 * `clone()` is wrapped to keep the clones' controllers too.
 *
 * If the runtime's Request ever stops making its controller this way, the caught controller does
 * not match the request's signal and the gateway falls back to passing a signal.
 */

import { appendRawHeaders } from "../web/raw-headers.ts";

const NativeAbortController = globalThis.AbortController;
let caught: AbortController | undefined;

/** Records itself, so the gateway can abort the signal of the Request being built. */
class CaughtAbortController extends NativeAbortController {
  constructor() {
    super();
    remember(this);
  }
}

function remember(controller: AbortController): void {
  caught = controller;
}

/** Runs `make` (which builds one Request) and returns the controller behind that Request's signal. */
function catchController<T extends Request>(make: () => T): { request: T; controller: AbortController | undefined } {
  const previous = globalThis.AbortController;
  caught = undefined;
  globalThis.AbortController = CaughtAbortController;
  let request: T;
  try {
    request = make();
  } finally {
    globalThis.AbortController = previous;
  }
  const controller = caught as AbortController | undefined;
  caught = undefined;
  return { request, controller: controller?.signal === request.signal ? controller : undefined };
}

/** A request, and the function that aborts its signal (and its clones'). */
export interface AbortableRequest {
  readonly request: Request;
  /** Aborts the request's signal with an AbortError, as a linked signal would. */
  abort(): void;
}

/**
 * Builds a Request with `init` (which must not carry a signal) whose signal `abort()` aborts; with
 * `rawHeaders` (Node's flat name, value… list), those are its headers — then `init` must carry no
 * headers, and no body (a string, a Blob) that makes the constructor add a content-type of its own:
 * the raw headers are appended to whatever the constructor set.
 * @example
 * const { request, abort } = abortableRequest(url, { method: "POST", body: bytes }, incoming.rawHeaders);
 * outgoing.on("close", () => { if (!outgoing.writableFinished) abort(); });
 */
export function abortableRequest(url: string, init: RequestInit, rawHeaders?: readonly string[]): AbortableRequest {
  const { request, controller } = catchController(() => new Request(url, init));
  if (rawHeaders !== undefined) appendRawHeaders(request.headers, rawHeaders);
  if (controller === undefined) {
    // Not the Request this was written for: link a signal the ordinary way.
    const fallback = new NativeAbortController();
    return { request: new Request(request, { signal: fallback.signal }), abort: () => fallback.abort() };
  }
  const controllers = [controller];
  followClones(request, controllers);
  return { request, abort: () => abortAll(controllers) };
}

function abortAll(controllers: AbortController[]): void {
  // A listener may clone the request while it runs: abort what is added meanwhile too.
  for (let i = 0; i < controllers.length; i++) controllers[i]!.abort();
}

/** Wraps `request.clone()` so that the clone's controller (and its clones') is aborted with the request's. */
function followClones(request: Request, controllers: AbortController[]): void {
  const clone = Request.prototype.clone;
  Object.defineProperty(request, "clone", {
    configurable: true,
    writable: true,
    value: function cloneFollowed(this: Request): Request {
      const { request: copy, controller } = catchController(() => clone.call(this));
      if (controller !== undefined) {
        controllers.push(controller);
        if (controllers[0]!.signal.aborted) controller.abort();
        followClones(copy, controllers);
      }
      return copy;
    },
  });
}
