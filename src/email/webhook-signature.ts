import { createHmac, timingSafeEqual } from "node:crypto";

/** The headers of a signed webhook request. */
export const WEBHOOK_SIGNATURE_HEADERS = {
  /** Unix time in seconds when the request was signed. */
  timestamp: "X-Hearth-Email-Timestamp",
  /** `v2=<hex HMAC-SHA256>`; several may be listed, comma-separated (while a secret is rotated). */
  signature: "X-Hearth-Email-Signature",
} as const;

/** What the signature covers, as the errors say it. */
const SIGNED = `"<timestamp>\\n<METHOD> <path>?<query>\\n<raw body>"`;

/**
 * The headers that sign a webhook request: `X-Hearth-Email-Timestamp` and
 * `X-Hearth-Email-Signature: v2=<hex>`, the HMAC-SHA256, keyed with the webhook secret, of the
 * timestamp, a line break, the method, a space, the path and query as in `url` (percent-encoded as a
 * URL holds them), a line break, and the raw body. The query names the envelope (`?from`, `?to`), so
 * a captured request cannot be sent to other recipients.
 * @example
 * const url = "https://agents.example.com/_hearth/email?to=support@example.com";
 * await fetch(url, { method: "POST", body: raw, headers: signWebhookRequest(secret, url, raw) });
 */
export function signWebhookRequest(
  secret: string,
  url: string | URL,
  body: string | Uint8Array,
  timestamp: number | string = Math.floor(Date.now() / 1000),
): Record<string, string> {
  if (typeof secret !== "string" || secret === "") throw new TypeError("signWebhookRequest: secret must be a non-empty string");
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return {
    [WEBHOOK_SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADERS.signature]: `v2=${hmac(secret, String(timestamp), "POST", requestTarget(url), bytes)}`,
  };
}

/** The path and query of `url` as the server reads them (a path alone is taken as it is). */
function requestTarget(url: string | URL): string {
  const parsed = new URL(url, "http://signed.invalid");
  return `${parsed.pathname}${parsed.search}`;
}

function hmac(secret: string, timestamp: string, method: string, target: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestamp}\n${method} ${target}\n`, "utf8").update(body).digest("hex");
}

/** A signed request's headers, read before its body: the timestamp and the `v2=` signatures listed. */
export type SignatureHeaders = { ok: true; timestamp: string; signatures: string[] } | { ok: false; error: string };

/**
 * Reads the signature headers and checks the timestamp (at most `toleranceSeconds` away from now,
 * either way), so a request without them is refused before its body is read.
 */
export function readSignatureHeaders(headers: Headers, toleranceSeconds: number): SignatureHeaders {
  const { timestamp: tsHeader, signature: sigHeader } = WEBHOOK_SIGNATURE_HEADERS;
  const timestamp = headers.get(tsHeader)?.trim() ?? "";
  const listed = headers.get(sigHeader) ?? "";
  if (timestamp === "" || listed.trim() === "") return { ok: false, error: `Missing signature: send ${tsHeader} and ${sigHeader} (v2=<hex HMAC-SHA256 of ${SIGNED}>)` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, error: `${tsHeader} must be Unix time in seconds, got ${JSON.stringify(timestamp.slice(0, 40))}` };
  const skew = Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp));
  if (skew > toleranceSeconds) {
    return { ok: false, error: `${tsHeader} is ${skew} s away from the server's time; at most ${toleranceSeconds} s (webhookSignatureToleranceSeconds): sign each request when it is sent` };
  }
  const entries = listed.split(",").map((entry) => entry.trim());
  const signatures = entries.flatMap((entry) => /^v2=([0-9a-f]{64})$/i.exec(entry)?.[1]?.toLowerCase() ?? []);
  if (signatures.length === 0 && entries.some((entry) => /^v1=/i.test(entry))) {
    return { ok: false, error: `${sigHeader}: v1 signatures (of "<timestamp>.<body>") are refused, they leave the envelope in the query unsigned; send v2=<hex HMAC-SHA256 of ${SIGNED}>` };
  }
  return { ok: true, timestamp, signatures };
}

/**
 * Checks the HMAC of timestamp, method, path, query and body against the signatures listed; the
 * error to answer with when none matches.
 */
export function verifyWebhookSignature(secret: string, signed: { timestamp: string; signatures: string[] }, request: { method: string; url: URL }, body: Uint8Array): string | undefined {
  const expected = Buffer.from(hmac(secret, signed.timestamp, request.method, `${request.url.pathname}${request.url.search}`, body), "utf8");
  for (const signature of signed.signatures) {
    if (timingSafeEqual(Buffer.from(signature, "utf8"), expected)) return undefined;
  }
  return `Wrong signature: ${WEBHOOK_SIGNATURE_HEADERS.signature} must be v2=<hex HMAC-SHA256, keyed with the webhook secret, of ${SIGNED}>`;
}
