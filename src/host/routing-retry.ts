/**
 * The Agents SDK's `routingRetry` option of `routeAgentRequest` and `getAgentByName`. There it retries
 * the Durable Object call that reaches the agent when the Workers runtime throws an error it marks
 * `retryable` (and not `overloaded`): up to `maxAttempts` attempts, each wait a random time below
 * `min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))`, `onRetry` told before it; on by default,
 * `false` turns it off.
 *
 * Hearth takes the option and checks it as the SDK does, so a policy Cloudflare refuses fails here
 * too, but runs no retry of its own at this level: its transient routing failures are retried below
 * it, where it is known whether the agent was reached (docs/compat.md, "routingRetry").
 */

/** What `onRetry` is told before each wait, as in the SDK. */
export interface RoutingRetryEvent {
  error: unknown;
  /** The attempt that failed, from 1. */
  attempt: number;
  maxAttempts: number;
  delayMs: number;
  /** The agent's name. */
  name: string;
  /** The binding's name (`routeAgentRequest` only). */
  className?: string;
}

/** The Agents SDK's retry policy for routing to an agent: accepted and checked, not used (see the file's comment). */
export interface RoutingRetryOptions {
  /** Attempts, the first included: an integer >= 1. The SDK's default: 3. */
  maxAttempts?: number;
  /** The backoff's base, in milliseconds: > 0 and <= maxDelayMs. The SDK's default: 100. */
  baseDelayMs?: number;
  /** The backoff's cap, in milliseconds: > 0. The SDK's default: 800. */
  maxDelayMs?: number;
  /** Called before each retry's wait. */
  onRetry?: (event: RoutingRetryEvent) => void | Promise<void>;
}

/** The SDK's defaults, against which a partial policy is checked (`baseDelayMs: 1000` alone is refused, as there). */
const SDK_DEFAULTS = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 800 } as const;

/**
 * Throws the SDK's error for a policy it refuses: `maxAttempts` not an integer >= 1, a delay not > 0,
 * `baseDelayMs` over `maxDelayMs`. Called where the SDK checks it, as the agent is about to be reached.
 * @example checkRoutingRetry({ maxAttempts: 0 }) // Error: routingRetry.maxAttempts must be >= 1
 */
export function checkRoutingRetry(option: false | RoutingRetryOptions | undefined): void {
  if (option === false) return;
  const maxAttempts = option?.maxAttempts ?? SDK_DEFAULTS.maxAttempts;
  const baseDelayMs = option?.baseDelayMs ?? SDK_DEFAULTS.baseDelayMs;
  const maxDelayMs = option?.maxDelayMs ?? SDK_DEFAULTS.maxDelayMs;
  if (!Number.isFinite(maxAttempts) || maxAttempts < 1) throw new Error("routingRetry.maxAttempts must be >= 1");
  if (!Number.isInteger(maxAttempts)) throw new Error("routingRetry.maxAttempts must be an integer");
  if (!Number.isFinite(baseDelayMs) || baseDelayMs <= 0) throw new Error("routingRetry.baseDelayMs must be > 0");
  if (!Number.isFinite(maxDelayMs) || maxDelayMs <= 0) throw new Error("routingRetry.maxDelayMs must be > 0");
  if (baseDelayMs > maxDelayMs) throw new Error("routingRetry.baseDelayMs must be <= maxDelayMs");
}
