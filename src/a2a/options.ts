/** The options of an A2A endpoint, checked and completed with their defaults. */
import { resolveRetry, type RetryOptions } from "../time/backoff.ts";
import { DEFAULT_PUSH_RETRY, DEFAULT_PUSH_TIMEOUT_MS, resolveLimits, type A2ALimits } from "./limits.ts";
import type { PushPolicy } from "./push-delivery.ts";
import type { A2ACardInput, A2AExecutor } from "./types.ts";

/** Options of {@link handleA2ARequest}. */
export interface A2AServerOptions {
  /** What the agent says about itself on its card. */
  card: A2ACardInput;
  /** What runs for each client message (see {@link memberExecutor} and {@link teamExecutor}). */
  executor: A2AExecutor;
  /**
   * The path the endpoint is served at (e.g. `/agents/desk/main/a2a`). Default: the request's path,
   * without a trailing `/.well-known/agent-card.json`.
   */
  basePath?: string;
  /**
   * Called for every JSON-RPC request (not for the card): false answers 401, a Response is sent as
   * it is, true lets the request in.
   */
  authenticate?: (request: Request) => boolean | Response | Promise<boolean | Response>;
  /** The card for authenticated clients (GetExtendedAgentCard). Unset: that method answers -32007. */
  extendedCard?: A2ACardInput | ((request: Request) => A2ACardInput | Promise<A2ACardInput>);
  /**
   * Push notifications (default on). `allowPrivate` lets them go to loopback and private addresses
   * (refused by default); `timeoutMs` bounds one attempt (default 10 s); `retry` the attempts
   * (default 5, 1 s doubling up to 60 s).
   */
  pushNotifications?: boolean | { allowPrivate?: boolean; timeoutMs?: number; retry?: RetryOptions };
  /**
   * A task that was running when the host stopped: `"resume"` (default) calls the executor again
   * with the task's last client message (`context.resumed` is true); `"fail"` fails it.
   */
  onInterrupted?: "resume" | "fail";
  /** Limits over the defaults (see docs/teams/a2a.md). */
  limits?: Partial<A2ALimits>;
}

export interface ResolvedServerOptions {
  card: A2ACardInput;
  executor: A2AExecutor;
  basePath?: string;
  authenticate?: A2AServerOptions["authenticate"];
  extendedCard?: A2AServerOptions["extendedCard"];
  push: PushPolicy | undefined;
  onInterrupted: "resume" | "fail";
  limits: A2ALimits;
}

const resolved = new WeakMap<A2AServerOptions, ResolvedServerOptions>();

/** Checks the options once per options object (an agent usually passes the same one on every request). */
export function resolveServerOptions(options: A2AServerOptions): ResolvedServerOptions {
  const cached = resolved.get(options);
  if (cached) return cached;
  if (typeof options?.executor !== "function") throw new TypeError("handleA2ARequest needs an executor function");
  if (typeof options.card !== "object" || options.card === null) throw new TypeError("handleA2ARequest needs a card ({ name, description, … })");
  if (options.onInterrupted !== undefined && options.onInterrupted !== "resume" && options.onInterrupted !== "fail") {
    throw new TypeError(`onInterrupted must be "resume" or "fail", got ${JSON.stringify(options.onInterrupted)}`);
  }
  if (options.basePath !== undefined && !options.basePath.startsWith("/")) throw new TypeError(`basePath must start with "/", got ${JSON.stringify(options.basePath)}`);
  const push = options.pushNotifications ?? true;
  const pushOptions = typeof push === "object" ? push : {};
  const timeoutMs = pushOptions.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`pushNotifications.timeoutMs must be a positive integer, got ${timeoutMs}`);
  const result: ResolvedServerOptions = {
    card: options.card,
    executor: options.executor,
    ...(options.basePath !== undefined ? { basePath: options.basePath.replace(/\/+$/, "") } : {}),
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...(options.extendedCard ? { extendedCard: options.extendedCard } : {}),
    push: push === false ? undefined : { allowPrivate: pushOptions.allowPrivate === true, timeoutMs, retry: resolveRetry(pushOptions.retry, DEFAULT_PUSH_RETRY) },
    onInterrupted: options.onInterrupted ?? "resume",
    limits: resolveLimits(options.limits),
  };
  resolved.set(options, result);
  return result;
}
