/**
 * A fetch for calling outside systems from agents: a timeout on every attempt, retries with
 * exponential backoff and jitter where a retry cannot do harm (idempotent methods, or a request
 * carrying an Idempotency-Key), `Retry-After` honoured, a circuit breaker per host, and the outbound
 * address guard on by default.
 */
import { backoffDelay, resolveRetry, type RetryOptions } from "../time/backoff.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { retryAfterMs } from "../web/retry-after.ts";
import { OutboundAddressError, type AddressGuardOptions } from "./address-guard.ts";
import { CircuitBreakers, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { createGuardedFetch, OutboundRedirectError } from "./guarded-fetch.ts";
import { holding } from "../web/holding.ts";

/** Options of {@link createFetch}. */
export interface FetchPolicyOptions extends AddressGuardOptions {
  /** Time one attempt may take, headers and body, in ms. Default 10 000; at most 600 000. */
  timeoutMs?: number;
  /** Attempts and backoff. Default `{ maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 10_000 }`. */
  retry?: RetryOptions;
  /** The longest `Retry-After` waited for, in ms; a longer one ends the retries (the response is returned). Default 60 000. */
  maxRetryAfterMs?: number;
  /** The breaker's settings, a shared {@link CircuitBreakers}, or false for none. Default on (5 failures, 30 s). */
  circuitBreaker?: CircuitBreakerOptions | CircuitBreakers | false;
  /** Redirects followed, each target checked by the guard. Default 20. */
  maxRedirects?: number;
  /** Time source of timeouts, backoff and the breaker. Default the system clock. */
  clock?: Clock;
  /** Waits between attempts; default a timer on `clock`. Replaceable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Randomness of the backoff jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** The fetch underneath (the guard is applied on top). Default the global fetch. */
  fetch?: typeof fetch;
}

/** A fetch-compatible function with timeouts, retries, a breaker and the address guard. */
export type PolicyFetch = typeof fetch & {
  /** The circuits by host, for inspection or reset. Undefined when the breaker is off. */
  readonly breakers: CircuitBreakers | undefined;
  /** Releases the connection pool of the guard. */
  close(): Promise<void>;
};

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
export const MAX_FETCH_TIMEOUT_MS = 600_000;
export const DEFAULT_FETCH_RETRY: Required<RetryOptions> = Object.freeze({ maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 10_000 });
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** Methods safe to send twice. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** Statuses worth another attempt. */
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Statuses that count against the host in the breaker (it is down or overloaded, not the request's fault). */
const BREAKER_STATUSES = new Set([500, 502, 503, 504]);

/**
 * Makes a fetch with the policy. Only network errors, timeouts and the statuses 408, 425, 429, 500,
 * 502, 503 and 504 are retried, and only for GET, HEAD, OPTIONS, PUT, DELETE and TRACE or a request
 * with an `Idempotency-Key` header; after the last attempt the last response is returned (or the
 * last error thrown). The caller's abort signal ends everything at once. A refused destination or
 * redirect (OutboundAddressError, OutboundRedirectError) is thrown at once, not counted against the host.
 *
 * @example
 * const fetchPolicy = createFetch({ timeoutMs: 5_000, retry: { maxAttempts: 4 } });
 * const response = await fetchPolicy("https://api.example.com/orders/42");
 * await fetchPolicy("https://api.example.com/orders", { method: "POST", headers: { "Idempotency-Key": orderId }, body });
 */
export function createFetch(options: FetchPolicyOptions = {}): PolicyFetch {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_FETCH_TIMEOUT_MS) {
    throw new RangeError(`timeoutMs must be a number of milliseconds from 1 to ${MAX_FETCH_TIMEOUT_MS}, got ${String(timeoutMs)}`);
  }
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  if (!Number.isFinite(maxRetryAfterMs) || maxRetryAfterMs < 0) {
    throw new RangeError(`maxRetryAfterMs must be a finite number of milliseconds >= 0, got ${String(maxRetryAfterMs)}`);
  }
  const retry = resolveRetry(options.retry, DEFAULT_FETCH_RETRY);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number, signal: AbortSignal) => clockSleep(clock, ms, signal));
  const random = options.random ?? Math.random;
  const breakers =
    options.circuitBreaker === false
      ? undefined
      : options.circuitBreaker instanceof CircuitBreakers
        ? options.circuitBreaker
        : new CircuitBreakers(options.circuitBreaker ?? {}, clock);
  const guarded = createGuardedFetch({
    allowPrivate: options.allowPrivate,
    allowHosts: options.allowHosts,
    lookup: options.lookup,
    maxRedirects: options.maxRedirects,
    fetch: options.fetch,
  });

  const policyFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const retriable = IDEMPOTENT_METHODS.has(request.method) || request.headers.has("idempotency-key");
    const attempts = retriable ? retry.maxAttempts : 1;
    const host = new URL(request.url).host;
    for (let attempt = 1; ; attempt++) {
      request.signal.throwIfAborted();
      const release = breakers?.admit(host);
      const timer = attemptTimeout(clock, timeoutMs, request.url);
      const signal = AbortSignal.any([request.signal, timer.signal]);
      let response: Response;
      try {
        // Held while the request runs (web/holding.ts): collected, neither the timeout nor the caller's abort would reach it.
        response = await holding(signal, guarded(request.url, { method: request.method, headers: request.headers, body, signal, redirect: request.redirect }));
      } catch (error) {
        timer.cancel();
        if (request.signal.aborted) {
          release?.(undefined);
          throw request.signal.reason;
        }
        const failure = timer.signal.aborted ? (timer.signal.reason as Error) : error;
        // A refused destination or redirect is not the host's failure, nor worth another try.
        if (failure instanceof OutboundAddressError || failure instanceof OutboundRedirectError) {
          release?.(undefined);
          throw failure;
        }
        release?.(false, messageOf(failure));
        if (attempt >= attempts) throw failure;
        await sleep(backoffDelay(attempt, retry, random), request.signal);
        continue;
      }
      // The timer keeps running while the body is read: the timeout covers the whole exchange.
      release?.(!BREAKER_STATUSES.has(response.status), `HTTP ${response.status}`);
      if (!RETRY_STATUSES.has(response.status) || attempt >= attempts) return response;
      const waitAfter = retryAfterMs(response.headers.get("retry-after"), clock.now());
      if (waitAfter !== undefined && waitAfter > maxRetryAfterMs) return response;
      timer.cancel();
      await response.body?.cancel();
      await sleep(waitAfter ?? backoffDelay(attempt, retry, random), request.signal);
    }
  };
  return Object.assign(policyFetch, { breakers, close: () => guarded.close() }) as PolicyFetch;
}

function attemptTimeout(clock: Clock, ms: number, url: string): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const origin = new URL(url).origin;
  const cancel = clock.setTimer(clock.now() + ms, () => {
    controller.abort(new DOMException(`Request to ${origin} timed out after ${ms} ms (timeoutMs)`, "TimeoutError"));
  });
  return { signal: controller.signal, cancel };
}

function clockSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.setTimer(clock.now() + ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

