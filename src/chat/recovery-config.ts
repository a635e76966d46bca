/**
 * `chatRecovery` read and checked: `false` (the default) turns recovery off, `true` takes the
 * defaults, an object overrides them. A bad field fails loudly, naming it.
 */
import type { ChatRecoveryConfig, ResolvedChatRecoveryConfig } from "./recovery-types.ts";

/** The defaults of `chatRecovery` (the Agents SDK's documented values). */
export const CHAT_RECOVERY_DEFAULTS = {
  maxAttempts: 10,
  stableTimeoutMs: 10_000,
  terminalMessage: "The assistant was interrupted and could not recover. Please try again.",
  noProgressTimeoutMs: 5 * 60 * 1000,
  maxRecoveryWork: 1000,
  maxOomRetries: 3,
} as const;

/** The resolved configuration, or undefined when recovery is off. */
export function resolveChatRecovery(raw: ChatRecoveryConfig | undefined): ResolvedChatRecoveryConfig | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return { ...CHAT_RECOVERY_DEFAULTS };
  if (typeof raw !== "object" || raw === null) throw new TypeError(`chatRecovery must be true, false or an object, got ${String(raw)}`);
  const known = new Set(["maxAttempts", "stableTimeoutMs", "terminalMessage", "noProgressTimeoutMs", "maxRecoveryWork", "maxOomRetries", "shouldKeepRecovering", "onExhausted"]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new TypeError(`Unknown chatRecovery field "${key}"; known: ${[...known].join(", ")}`);
  }
  const resolved: ResolvedChatRecoveryConfig = {
    maxAttempts: count("maxAttempts", raw.maxAttempts, CHAT_RECOVERY_DEFAULTS.maxAttempts, 1),
    stableTimeoutMs: count("stableTimeoutMs", raw.stableTimeoutMs, CHAT_RECOVERY_DEFAULTS.stableTimeoutMs, 0),
    terminalMessage: raw.terminalMessage ?? CHAT_RECOVERY_DEFAULTS.terminalMessage,
    noProgressTimeoutMs: count("noProgressTimeoutMs", raw.noProgressTimeoutMs, CHAT_RECOVERY_DEFAULTS.noProgressTimeoutMs, 0),
    maxRecoveryWork: count("maxRecoveryWork", raw.maxRecoveryWork, CHAT_RECOVERY_DEFAULTS.maxRecoveryWork, 0, true),
    maxOomRetries: count("maxOomRetries", raw.maxOomRetries, CHAT_RECOVERY_DEFAULTS.maxOomRetries, 0),
  };
  if (typeof resolved.terminalMessage !== "string") throw new TypeError("chatRecovery.terminalMessage must be a string");
  if (raw.shouldKeepRecovering !== undefined) {
    if (typeof raw.shouldKeepRecovering !== "function") throw new TypeError("chatRecovery.shouldKeepRecovering must be a function");
    resolved.shouldKeepRecovering = raw.shouldKeepRecovering;
  }
  if (raw.onExhausted !== undefined) {
    if (typeof raw.onExhausted !== "function") throw new TypeError("chatRecovery.onExhausted must be a function");
    resolved.onExhausted = raw.onExhausted;
  }
  return resolved;
}

function count(field: string, value: unknown, fallback: number, min: number, infinite = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < min || (!infinite && !Number.isFinite(value))) {
    throw new RangeError(`chatRecovery.${field} must be a number >= ${min}${infinite ? " (or Infinity)" : ""}, got ${String(value)}`);
  }
  return value === Number.POSITIVE_INFINITY ? value : Math.floor(value);
}
