import { createHmac, timingSafeEqual } from "node:crypto";
import { EMAIL_LIMITS } from "./limits.ts";
import type { SignatureFailureReason } from "./types.ts";

/** Default age after which a signature is refused: 30 days, in seconds. */
export const DEFAULT_MAX_AGE_SECONDS: number = EMAIL_LIMITS.signatureMaxAgeSeconds;

/** The routing headers a signed message carries (same names and format as Cloudflare's Agents SDK). */
export const AGENT_HEADERS = {
  name: "X-Agent-Name",
  id: "X-Agent-ID",
  signature: "X-Agent-Sig",
  timestamp: "X-Agent-Sig-Ts",
} as const;

/**
 * HMAC-SHA256 over `name:id:timestamp`, base64. The class name never contains a colon (refused
 * when signing and when verifying) and the timestamp is digits, so the payload splits one way
 * only — at its first and last colon — and the instance name may keep its colons.
 * @internal Exported for tests that need a signature of another time.
 */
export function computeAgentSignature(secret: string, agentName: string, agentId: string, timestamp: string): string {
  return createHmac("sha256", secret).update(`${agentName}:${agentId}:${timestamp}`, "utf8").digest("base64");
}

/**
 * The routing headers of the agent `agentName`/`agentId`, signed with `secret` and the current
 * time, for replies to find their way back through `createSecureReplyEmailResolver`.
 * @example
 * const headers = await signAgentHeaders(env.EMAIL_SECRET, "support-agent", this.name);
 * await env.EMAIL.send({ from, to, subject, text, headers });
 */
export async function signAgentHeaders(secret: string, agentName: string, agentId: string): Promise<Record<string, string>> {
  if (typeof secret !== "string" || secret === "") throw new TypeError("signAgentHeaders: secret must be a non-empty string");
  if (!agentName) throw new TypeError("signAgentHeaders: agentName is required");
  if (!agentId) throw new TypeError("signAgentHeaders: agentId is required");
  if (agentName.includes(":")) throw new TypeError(`signAgentHeaders: agentName must not contain ":" (got "${agentName}")`);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    [AGENT_HEADERS.name]: agentName,
    [AGENT_HEADERS.id]: agentId,
    [AGENT_HEADERS.signature]: computeAgentSignature(secret, agentName, agentId, timestamp),
    [AGENT_HEADERS.timestamp]: timestamp,
  };
}

/**
 * Checks a signature of `agentName`/`agentId`; the reason when it is refused. A class name with a
 * colon is refused: `A:b`/`c` and `A`/`b:c` would sign the same payload, so a signature for one
 * instance would route to the other.
 */
export function verifyAgentSignature(
  secret: string,
  agentName: string,
  agentId: string,
  signature: string,
  timestamp: string,
  maxAgeSeconds: number,
): { valid: true } | { valid: false; reason: SignatureFailureReason } {
  if (!/^\d{1,12}$/.test(timestamp.trim())) return { valid: false, reason: "malformed_timestamp" };
  if (agentName.includes(":")) return { valid: false, reason: "invalid" };
  const signedAt = Number(timestamp.trim());
  const now = Math.floor(Date.now() / 1000);
  // A timestamp from the future would stretch the signature's life.
  if (signedAt > now + EMAIL_LIMITS.signatureClockSkewSeconds) return { valid: false, reason: "invalid" };
  if (now - signedAt > maxAgeSeconds) return { valid: false, reason: "expired" };
  const expected = Buffer.from(computeAgentSignature(secret, agentName, agentId, timestamp.trim()));
  const given = Buffer.from(signature.trim());
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false, reason: "invalid" };
  return { valid: true };
}
