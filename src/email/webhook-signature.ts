import { createHmac, timingSafeEqual } from "node:crypto";

/** The headers of a signed webhook request. */
export const WEBHOOK_SIGNATURE_HEADERS = {
  /** Unix time in seconds when the request was signed. */
  timestamp: "X-Hearth-Email-Timestamp",
  /** `v1=<hex HMAC-SHA256>`; several may be listed, comma-separated (while a secret is rotated). */
  signature: "X-Hearth-Email-Signature",
} as const;

/**
 * The signature of a webhook body: `v1=` and the hex HMAC-SHA256, keyed with the webhook secret,
 * of the timestamp, a dot, and the raw body — what a relay puts in `X-Hearth-Email-Signature`, with
 * the timestamp in `X-Hearth-Email-Timestamp`.
 * @example
 * const timestamp = Math.floor(Date.now() / 1000);
 * await fetch("https://agents.example.com/_hearth/email?to=support@example.com", {
 *   method: "POST",
 *   body: raw,
 *   headers: { "X-Hearth-Email-Timestamp": String(timestamp), "X-Hearth-Email-Signature": signWebhookBody(secret, timestamp, raw) },
 * });
 */
export function signWebhookBody(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  if (typeof secret !== "string" || secret === "") throw new TypeError("signWebhookBody: secret must be a non-empty string");
  return `v1=${hmac(secret, String(timestamp), typeof body === "string" ? Buffer.from(body, "utf8") : body)}`;
}

function hmac(secret: string, timestamp: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(body).digest("hex");
}

/** A signed request's verdict: the matching signature (the replay key), or why it is refused. */
export type SignatureCheck = { ok: true; signature: string; signedAt: number } | { ok: false; error: string };

/**
 * Checks the timestamp (at most `toleranceSeconds` away from now, either way) and then the HMAC of
 * `timestamp.body`. A request older than the tolerance can never be replayed; within it, the caller
 * keeps each signature to refuse its reuse.
 */
export function checkWebhookSignature(secret: string, headers: Headers, body: Uint8Array, toleranceSeconds: number): SignatureCheck {
  const { timestamp: tsHeader, signature: sigHeader } = WEBHOOK_SIGNATURE_HEADERS;
  const timestamp = headers.get(tsHeader)?.trim() ?? "";
  const listed = headers.get(sigHeader) ?? "";
  if (timestamp === "" || listed.trim() === "") return { ok: false, error: `Missing signature: send ${tsHeader} and ${sigHeader} (v1=<hex HMAC-SHA256 of "<timestamp>.<body>">)` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, error: `${tsHeader} must be Unix time in seconds, got ${JSON.stringify(timestamp.slice(0, 40))}` };
  const signedAt = Number(timestamp);
  const skew = Math.abs(Math.floor(Date.now() / 1000) - signedAt);
  if (skew > toleranceSeconds) {
    return { ok: false, error: `${tsHeader} is ${skew} s away from the server's time; at most ${toleranceSeconds} s (webhookSignatureToleranceSeconds): sign each request when it is sent` };
  }
  const expected = Buffer.from(hmac(secret, timestamp, body), "utf8");
  for (const entry of listed.split(",")) {
    const match = /^\s*v1=([0-9a-f]{64})\s*$/i.exec(entry);
    if (!match) continue;
    const given = Buffer.from(match[1]!.toLowerCase(), "utf8");
    if (timingSafeEqual(given, expected)) return { ok: true, signature: match[1]!.toLowerCase(), signedAt };
  }
  return { ok: false, error: `Wrong signature: ${sigHeader} must be v1=<hex HMAC-SHA256, keyed with the webhook secret, of "<timestamp>.<raw body>">` };
}
