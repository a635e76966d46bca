/**
 * One attempt at delivering an outbound webhook: signed afresh (the signature carries the time of
 * sending), sent through the fetch policy with the address guard, and judged: delivered, worth
 * another attempt, or failed for good.
 */
import type { RetryOptions } from "../time/backoff.ts";
import type { Clock } from "../time/clock.ts";
import { readAtMost } from "../gateway/bounded-body.ts";
import { assertPublicLiteral, OutboundAddressError } from "./address-guard.ts";
import { CircuitBreakers, CircuitOpenError, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { createFetch, type PolicyFetch } from "./fetch-policy.ts";
import { retryAfterMs } from "../web/retry-after.ts";
import { toHeaders } from "./outbound-headers.ts";
import type { OutboxRow } from "./outbox-store.ts";
import { signWebhook } from "./webhook-signature.ts";

/** How a delivery is sent, stored with it. */
export interface DeliveryPolicy {
  retry: Required<RetryOptions>;
  timeoutMs: number;
  allowPrivate: boolean;
  allowHosts: string[];
  /** The receiver's circuit breaker: settings (shared by deliveries with the same ones), or false for none. */
  circuitBreaker?: CircuitBreakerOptions | false;
}

export type DeliveryOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "permanent"; status: number | null; error: string }
  | { kind: "retry"; status: number | null; error: string; waitMs?: number };

/** Statuses worth another attempt; any other non-2xx answer is final. */
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
/** The longest `Retry-After` honoured, in ms (a longer one waits this long). */
export const MAX_WEBHOOK_RETRY_AFTER_MS = 3_600_000;
/** How much of a failed answer's body is kept as the error, in characters. */
const ERROR_BODY_CHARS = 300;
/** How much of a failed answer's body is read, in bytes; the rest is never downloaded (it may be huge). */
export const MAX_WEBHOOK_ERROR_BODY_BYTES = 4096;
const MAX_CACHED_FETCHES = 64;

/** The refusals that need no DNS, made when the webhook is recorded. */
export function checkDestinationSync(url: URL, policy: DeliveryPolicy): void {
  assertPublicLiteral(url, { allowPrivate: policy.allowPrivate, allowHosts: policy.allowHosts });
}

/** Circuits per clock and settings: every agent on a host shares them (a receiver down is down for all). */
const breakersByClock = new WeakMap<Clock, Map<string, CircuitBreakers>>();
const fetchesByClock = new WeakMap<Clock, Map<string, PolicyFetch>>();

function breakersFor(clock: Clock, options: CircuitBreakerOptions): CircuitBreakers {
  let byOptions = breakersByClock.get(clock);
  if (!byOptions) breakersByClock.set(clock, (byOptions = new Map()));
  const key = JSON.stringify(options);
  let breakers = byOptions.get(key);
  if (!breakers) byOptions.set(key, (breakers = new CircuitBreakers(options, clock)));
  return breakers;
}

function fetcherFor(clock: Clock, policy: DeliveryPolicy): PolicyFetch {
  let fetches = fetchesByClock.get(clock);
  if (!fetches) fetchesByClock.set(clock, (fetches = new Map()));
  const key = JSON.stringify([policy.timeoutMs, policy.allowPrivate, policy.allowHosts, policy.circuitBreaker ?? {}]);
  let fetcher = fetches.get(key);
  if (!fetcher) {
    if (fetches.size >= MAX_CACHED_FETCHES) fetches.clear();
    fetcher = createFetch({
      retry: { maxAttempts: 1 },
      timeoutMs: policy.timeoutMs,
      allowPrivate: policy.allowPrivate,
      allowHosts: policy.allowHosts,
      circuitBreaker: policy.circuitBreaker === false ? false : breakersFor(clock, policy.circuitBreaker ?? {}),
      clock,
    });
    fetches.set(key, fetcher);
  }
  return fetcher;
}

/**
 * Sends `row` once and says how it went. Never throws: whatever fails becomes an outcome, so the
 * delivery is retried or becomes a dead letter rather than staying pending.
 */
export async function deliverOnce(row: OutboxRow, policy: DeliveryPolicy, clock: Clock): Promise<DeliveryOutcome> {
  let request: ReturnType<typeof prepare>;
  try {
    request = prepare(row, policy, clock);
  } catch (error) {
    // Nothing was sent, and the same row would fail the same way on every attempt.
    return { kind: "permanent", status: null, error: `The webhook cannot be sent: ${describe(error)}` };
  }
  try {
    const { send, headers, body } = request;
    const response = await send(row.url, { method: "POST", headers, body, redirect: "manual" });
    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel();
      return { kind: "delivered", status };
    }
    const text = (await bodyStart(response)).trim().slice(0, ERROR_BODY_CHARS);
    const error = `HTTP ${status}${text ? `: ${text}` : ""}`;
    if (RETRY_STATUSES.has(status)) {
      const wait = retryAfterMs(response.headers.get("retry-after"), clock.now());
      return { kind: "retry", status, error, ...(wait === undefined ? {} : { waitMs: Math.min(wait, MAX_WEBHOOK_RETRY_AFTER_MS) }) };
    }
    return { kind: "permanent", status, error: status >= 300 && status < 400 ? `${error} (redirects are not followed)` : error };
  } catch (error) {
    if (error instanceof OutboundAddressError) return { kind: "permanent", status: null, error: error.message };
    if (error instanceof CircuitOpenError) return { kind: "retry", status: null, error: error.message, waitMs: Math.max(0, error.retryAt - clock.now()) };
    return { kind: "retry", status: null, error: describe(error) };
  }
}

/** The first MAX_WEBHOOK_ERROR_BODY_BYTES of a body as text; the rest of the stream is cancelled. */
async function bodyStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  return new TextDecoder().decode(await readAtMost(reader, MAX_WEBHOOK_ERROR_BODY_BYTES));
}

/** The request of one attempt, signed now. A row recorded by an earlier version may hold what fetch refuses. */
function prepare(row: OutboxRow, policy: DeliveryPolicy, clock: Clock): { send: PolicyFetch; headers: Headers; body: Uint8Array<ArrayBuffer> } {
  const url = new URL(row.url);
  if (url.username !== "" || url.password !== "") throw new TypeError("its URL holds credentials (user:password@), which fetch does not send");
  const headers = toHeaders(JSON.parse(row.headers ?? "{}") as Record<string, unknown>);
  const body = new Uint8Array(row.body ?? new Uint8Array(0));
  if (row.style === "hearth") {
    headers.set("x-hearth-delivery", row.id);
    if (row.secret) {
      const signed = signWebhook(body, { secret: row.secret, timestamp: Math.floor(clock.now() / 1000), deliveryId: row.id });
      for (const [name, value] of Object.entries(signed)) headers.set(name, value);
    }
  }
  return { send: fetcherFor(clock, policy), headers, body };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  // fetch's own "fetch failed" says little; its cause says what (ECONNREFUSED, a TLS error, …).
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
