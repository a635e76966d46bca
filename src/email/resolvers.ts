import { decodeWords } from "postal-mime";
import { bareAddress } from "./address.ts";
import { AGENT_HEADERS, DEFAULT_MAX_AGE_SECONDS, verifyAgentSignature } from "./signing.ts";
import type { EmailResolver, ForwardableEmailMessage, SecureReplyResolverOptions } from "./types.ts";

/**
 * Routes by recipient address: `support@example.com` → agent class `defaultAgentName`, instance
 * `support`; `NotificationAgent+user123@example.com` → class `NotificationAgent` (matched by
 * binding name, kebab-case or lower-case), instance `user123`. Null for an address it cannot read
 * (local part over 64 or domain over 253 characters, no `@`).
 * @example
 * await routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("EmailAgent") });
 */
export function createAddressBasedEmailResolver<Env = Record<string, unknown>>(defaultAgentName: string): EmailResolver<Env> {
  return async (email) => {
    const address = bareAddress(email.to);
    const at = address.lastIndexOf("@");
    if (at <= 0) return null;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    if (local.length > 64 || domain.length === 0 || domain.length > 253) return null;
    const plus = local.indexOf("+");
    if (plus === -1) return { agentName: defaultAgentName, agentId: local };
    const agentName = local.slice(0, plus);
    const agentId = local.slice(plus + 1);
    return agentName && agentId ? { agentName, agentId } : null;
  };
}

/**
 * Routes every message to one agent instance, whatever its address (a shared inbox).
 * @example
 * const resolver = createCatchAllEmailResolver("EmailAgent", "default");
 */
export function createCatchAllEmailResolver<Env = Record<string, unknown>>(agentName: string, agentId: string): EmailResolver<Env> {
  return async () => ({ agentName, agentId });
}

/**
 * Routes replies back to the agent that sent the original message: reads the `X-Agent-Name`,
 * `X-Agent-ID`, `X-Agent-Sig` and `X-Agent-Sig-Ts` headers that `replyToEmail` / `sendEmail` with a
 * `secret` (or `signAgentHeaders`) wrote, and checks the HMAC and its age. A missing, forged or
 * expired signature gives null (and `onInvalidSignature`), never a route.
 * @example
 * const secure = createSecureReplyEmailResolver(env.EMAIL_SECRET, { maxAge: 7 * 86_400 });
 * const byAddress = createAddressBasedEmailResolver("EmailAgent");
 * await routeAgentEmail(message, env, { resolver: async (m, e) => (await secure(m, e)) ?? byAddress(m, e) });
 */
export function createSecureReplyEmailResolver<Env = Record<string, unknown>>(
  secret: string,
  options: SecureReplyResolverOptions = {},
): EmailResolver<Env> {
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError("createSecureReplyEmailResolver: secret must be a non-empty string (e.g. env.EMAIL_SECRET)");
  }
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE_SECONDS;
  if (!Number.isFinite(maxAge) || maxAge < 0) throw new RangeError(`createSecureReplyEmailResolver: maxAge must be a number of seconds ≥ 0, got ${maxAge}`);
  const refuse = (email: ForwardableEmailMessage, reason: Parameters<NonNullable<SecureReplyResolverOptions["onInvalidSignature"]>>[1]) => {
    options.onInvalidSignature?.(email, reason);
    return null;
  };
  return async (email) => {
    const agentName = headerText(email.headers, AGENT_HEADERS.name);
    const agentId = headerText(email.headers, AGENT_HEADERS.id);
    const signature = email.headers.get(AGENT_HEADERS.signature);
    const timestamp = email.headers.get(AGENT_HEADERS.timestamp);
    if (!agentName || !agentId || !signature || !timestamp) return refuse(email, "missing_headers");
    const result = verifyAgentSignature(secret, agentName, agentId, signature, timestamp, maxAge);
    if (!result.valid) return refuse(email, result.reason);
    return { agentName, agentId, _secureRouted: true };
  };
}

/** A header's text: encoded words (how non-ASCII instance names travel) decoded. */
function headerText(headers: Headers, name: string): string | null {
  const value = headers.get(name);
  return value === null ? null : decodeWords(value).trim();
}
