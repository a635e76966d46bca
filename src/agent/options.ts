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
  /** While fibers run, how often the host wakes the agent (so a crash is noticed). Default 30 s. */
  keepAliveIntervalMs?: number;
}

/** The options of a class with every default filled in. */
export interface ResolvedAgentOptions {
  readonly sendIdentityOnConnect: boolean;
  readonly retry: Required<RetryOptions>;
}

const resolved = new WeakMap<object, ResolvedAgentOptions>();

/**
 * The `static options` of `agentClass` (inherited ones included), validated and resolved once per
 * class. Throws a clear error for a wrong type, so the mistake shows when the first agent starts.
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
  if (raw === undefined) return { sendIdentityOnConnect: true, retry: DEFAULT_RETRY };
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
  return { sendIdentityOnConnect, retry: retryDefaults };
}
