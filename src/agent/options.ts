import { DEFAULT_RETRY, resolveRetry, type RetryOptions } from "../time/backoff.ts";

/**
 * Per-class settings, as `static options` on an agent class (the Agents SDK's shape). Keys Hearth
 * does not use are accepted and ignored, so a class written for Cloudflare loads unchanged.
 * @example
 * class Support extends Agent<Env> {
 *   static options = { sendIdentityOnConnect: false, retry: { maxAttempts: 5 } };
 * }
 */
export interface AgentStaticOptions {
  /**
   * Send the `cf_agent_identity` frame (instance name and class) to clients on connect. Default true.
   * Turn it off when instance names are private (e.g. server-chosen names behind custom routing).
   */
  sendIdentityOnConnect?: boolean;
  /** Default retry policy of `schedule()`, `queue()` and `this.retry()` for this class. */
  retry?: RetryOptions;
  /** While fibers run, how often the host wakes the agent (so a crash is noticed). Default 30 s, at least 10 ms. */
  keepAliveIntervalMs?: number;
  /**
   * How long, from a fiber's start, a failing `onFiberRecovered` is retried (backoff up to 5 min)
   * before an interrupted `runFiber` fiber is dropped. Default 24 h; 0: retried for ever.
   */
  fiberRecoveryMaxAgeMs?: number;
  /**
   * How long start-up (and each later recovery pass) waits for `onFiberRecovered` before the agent
   * goes on; fibers not recovered by then are recovered later. Default 10 s; 0: no deadline.
   */
  fiberRecoveryScanDeadlineMs?: number;
  /** Cloudflare's timeout of its own internal recovery hooks. Hearth has none: accepted, no effect. */
  fiberRecoveryHookTimeoutMs?: number;
}

/** Defaults and bounds of the fiber options (also in `FIBER_LIMITS`). */
export const FIBER_OPTION_DEFAULTS = {
  keepAliveIntervalMs: 30_000,
  minKeepAliveIntervalMs: 10,
  fiberRecoveryMaxAgeMs: 24 * 60 * 60_000,
  fiberRecoveryScanDeadlineMs: 10_000,
} as const;

/** The options of a class with every default filled in. */
export interface ResolvedAgentOptions {
  readonly sendIdentityOnConnect: boolean;
  readonly retry: Required<RetryOptions>;
  readonly keepAliveIntervalMs: number;
  readonly fiberRecoveryMaxAgeMs: number;
  readonly fiberRecoveryScanDeadlineMs: number;
}

const resolved = new WeakMap<object, ResolvedAgentOptions>();

/**
 * The `static options` of `agentClass` (inherited ones included), validated and resolved once per
 * class. Throws a clear error for a wrong type or value; the Host calls it for every class at start-up,
 * so the mistake shows before any agent runs.
 */
export function optionsOf(agentClass: object): ResolvedAgentOptions {
  let options = resolved.get(agentClass);
  if (!options) {
    options = resolveOptions(agentClass);
    resolved.set(agentClass, options);
  }
  return options;
}

function resolveOptions(agentClass: object): ResolvedAgentOptions {
  const name = (agentClass as { name?: string }).name ?? "agent";
  const raw = (agentClass as { options?: unknown }).options;
  if (raw === undefined) return { sendIdentityOnConnect: true, retry: DEFAULT_RETRY, ...fiberOptions(name, {}) };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TypeError(`${name}.options must be an object such as { sendIdentityOnConnect: false }`);
  }
  const { sendIdentityOnConnect = true, retry } = raw as AgentStaticOptions;
  if (typeof sendIdentityOnConnect !== "boolean") {
    throw new TypeError(`${name}.options.sendIdentityOnConnect must be a boolean`);
  }
  let retryDefaults: Required<RetryOptions>;
  try {
    retryDefaults = Object.freeze(resolveRetry(retry));
  } catch (error) {
    throw new (error instanceof RangeError ? RangeError : TypeError)(`${name}.options: ${(error as Error).message}`, { cause: error });
  }
  return { sendIdentityOnConnect, retry: retryDefaults, ...fiberOptions(name, raw as AgentStaticOptions) };
}

type FiberOptions = Pick<ResolvedAgentOptions, "keepAliveIntervalMs" | "fiberRecoveryMaxAgeMs" | "fiberRecoveryScanDeadlineMs">;

function fiberOptions(name: string, raw: AgentStaticOptions): FiberOptions {
  const defaults = FIBER_OPTION_DEFAULTS;
  const { keepAliveIntervalMs = defaults.keepAliveIntervalMs } = raw;
  if (typeof keepAliveIntervalMs !== "number" || !Number.isFinite(keepAliveIntervalMs) || keepAliveIntervalMs < defaults.minKeepAliveIntervalMs) {
    throw new RangeError(
      `${name}.options.keepAliveIntervalMs must be a number of milliseconds >= ${defaults.minKeepAliveIntervalMs} (minKeepAliveIntervalMs), got ${String(keepAliveIntervalMs)}`,
    );
  }
  return {
    keepAliveIntervalMs,
    fiberRecoveryMaxAgeMs: milliseconds(name, "fiberRecoveryMaxAgeMs", raw.fiberRecoveryMaxAgeMs, defaults.fiberRecoveryMaxAgeMs, "retried for ever"),
    fiberRecoveryScanDeadlineMs: milliseconds(name, "fiberRecoveryScanDeadlineMs", raw.fiberRecoveryScanDeadlineMs, defaults.fiberRecoveryScanDeadlineMs, "no deadline"),
  };
}

/** A duration option: a finite number >= 0, where 0 means `zero`. */
function milliseconds(name: string, key: string, value: unknown, fallback: number, zero: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name}.options.${key} must be a number of milliseconds >= 0 (0: ${zero}), got ${String(value)}`);
  }
  return value;
}
