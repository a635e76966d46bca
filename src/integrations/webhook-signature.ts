/**
 * Signatures of webhooks: verifying inbound ones (GitHub, Stripe, Slack and Hearth's own scheme) over
 * the raw body bytes with a constant-time compare and a timestamp tolerance against replays, and
 * signing outbound ones the same way.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { readBodyBytesWithLimit } from "../gateway/bounded-body.ts";

/** The signature schemes understood. */
export type WebhookStyle = "hmac" | "github" | "stripe" | "slack";

/** What {@link verifyWebhook} reads: a Request, or headers and the raw body as received. */
export type WebhookInput = Request | { headers: Headers | Record<string, string | readonly string[] | undefined>; body: string | Uint8Array | ArrayBuffer };

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  style: WebhookStyle;
  /** The shared secret; several during a rotation (any of them may match). */
  secret: string | readonly string[];
  /** Largest difference between the signed timestamp and now, in seconds (either way). Default 300. Not used by the github style, which signs no time. */
  toleranceSeconds?: number;
  /** The current time, epoch ms. Default `Date.now()`. */
  now?: number;
  /** Largest body read from a Request, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** A verified webhook. */
export interface VerifiedWebhook {
  /**
   * The sender's id of this delivery, the same on its retries: X-GitHub-Delivery, the Stripe event's
   * `id`, the Slack event's `event_id`, X-Hearth-Delivery. When the sender gives none, the signature
   * that matched (prefixed "sig:"), which a replay of the same request repeats.
   */
  deliveryId: string;
  /**
   * The signature that matched, lower-case hex: an HMAC over what was signed, so a replay repeats it
   * whatever it changes in the unsigned headers (X-GitHub-Delivery and X-Hearth-Delivery are not
   * signed). De-duplicate on it as well as on `deliveryId`.
   */
  signature: string;
  /** The signed time, Unix seconds (undefined for the github style). */
  timestamp: number | undefined;
  /** The raw body bytes that were verified. */
  body: Uint8Array;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** Why a webhook was refused. */
export type WebhookSignatureReason = "missing-header" | "malformed-header" | "bad-signature" | "timestamp-outside-tolerance";

/** The webhook's signature did not verify: it must be answered 401 and not acted on. */
export class WebhookSignatureError extends Error {
  override readonly name = "WebhookSignatureError";
  readonly status = 401;
  readonly reason: WebhookSignatureReason;
  constructor(reason: WebhookSignatureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The webhook's body is unusable: malformed (400) or too large (413). */
export class WebhookRequestError extends Error {
  override readonly name = "WebhookRequestError";
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

interface Scheme {
  signatureHeader: string;
  timestampHeader?: string;
  deliveryHeader?: string;
}

const SCHEMES: Record<WebhookStyle, Scheme> = {
  hmac: { signatureHeader: "X-Hearth-Signature", deliveryHeader: "X-Hearth-Delivery" },
  github: { signatureHeader: "X-Hub-Signature-256", deliveryHeader: "X-GitHub-Delivery" },
  stripe: { signatureHeader: "Stripe-Signature" },
  slack: { signatureHeader: "X-Slack-Signature", timestampHeader: "X-Slack-Request-Timestamp" },
};

/**
 * Verifies an inbound webhook's signature over its raw body and, for the styles that sign a time,
 * that the time is within the tolerance. Resolves with the delivery id for deduplication.
 *
 * - `github`: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body; id from `X-GitHub-Delivery`.
 * - `stripe`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>`; id = the JSON event's `id`.
 * - `slack`: `X-Slack-Signature: v0=<hex>` over `v0:<ts>:<body>`, ts from `X-Slack-Request-Timestamp`.
 * - `hmac` (Hearth's own, what {@link signWebhook} sends): `X-Hearth-Signature: t=<unix>,v1=<hex>` over
 *   `<t>.<body>`; id from `X-Hearth-Delivery`.
 *
 * @throws WebhookSignatureError (401) for a missing or malformed header, a wrong signature or a
 *   stale timestamp; WebhookRequestError for a body too large (413) or a stripe body without an id (400)
 * @example
 * const { deliveryId } = await verifyWebhook(request, { style: "github", secret: env.GITHUB_WEBHOOK_SECRET });
 */
export async function verifyWebhook(input: WebhookInput, options: VerifyWebhookOptions): Promise<VerifiedWebhook> {
  return (await verifyDelivery(input, options)).webhook;
}

/** A verified webhook, with every signature a copy of it could be verified by. */
export interface VerifiedDelivery {
  webhook: VerifiedWebhook;
  /**
   * What was signed, signed with each of the secrets (lower-case hex): a copy of this delivery matches
   * one of them, even one that dropped or added entries of a signature list.
   */
  signatures: readonly string[];
}

/** {@link verifyWebhook}, for a de-duplication that must also know the copies of a delivery. */
export async function verifyDelivery(input: WebhookInput, options: VerifyWebhookOptions): Promise<VerifiedDelivery> {
  const secrets = checkOptions(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY_BYTES;
  const body = input instanceof Request ? await readBody(input, maxBodyBytes) : toBytes(input.body);
  const header = headerReader(input.headers);
  const { style } = options;
  const scheme = SCHEMES[style];
  const raw = header(scheme.signatureHeader);
  if (raw === undefined) throw new WebhookSignatureError("missing-header", `Webhook refused: missing the ${scheme.signatureHeader} header (${style} style)`);

  let timestamp: number | undefined;
  let signatures: string[];
  let signed: (secret: string) => Buffer;
  if (style === "github") {
    if (!raw.startsWith("sha256=")) throw malformed(scheme.signatureHeader, 'does not start with "sha256="');
    signatures = [raw.slice("sha256=".length)];
    signed = (secret) => hmac(secret, [body]);
  } else if (style === "slack") {
    if (!raw.startsWith("v0=")) throw malformed(scheme.signatureHeader, 'does not start with "v0="');
    const ts = header(scheme.timestampHeader!);
    if (ts === undefined) throw new WebhookSignatureError("missing-header", `Webhook refused: missing the ${scheme.timestampHeader} header (slack style)`);
    timestamp = parseTimestamp(ts, scheme.timestampHeader!);
    signatures = [raw.slice("v0=".length)];
    signed = (secret) => hmac(secret, [`v0:${ts}:`, body]);
  } else {
    const fields = parseFields(raw, scheme.signatureHeader);
    const t = fields.get("t")?.[0];
    if (t === undefined) throw malformed(scheme.signatureHeader, "has no t=<unix time> field");
    timestamp = parseTimestamp(t, scheme.signatureHeader);
    signatures = fields.get("v1") ?? [];
    if (signatures.length === 0) throw malformed(scheme.signatureHeader, "has no v1=<signature> field");
    signed = (secret) => hmac(secret, [`${t}.`, body]);
  }

  // The signature first: a stale timestamp on a forged request says nothing worth knowing.
  const expected = secrets.map(signed);
  const matched = matchedSignature(signatures, expected);
  if (matched === undefined) {
    throw new WebhookSignatureError(
      "bad-signature",
      `Webhook refused: the ${scheme.signatureHeader} signature does not match the body (${style} style; check the secret, and that the raw body is verified unchanged)`,
    );
  }
  if (timestamp !== undefined) checkTolerance(timestamp, options);
  const signature = matched.toString("hex");
  return {
    webhook: { deliveryId: deliveryIdOf(style, scheme, header, body, signature), signature, timestamp, body },
    signatures: expected.map((bytes) => bytes.toString("hex")),
  };
}

/** Options of {@link signWebhook}. */
export interface SignWebhookOptions {
  /** Default "hmac" (Hearth's own scheme). */
  style?: WebhookStyle;
  secret: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** The delivery id sent (hmac and github styles); default a random UUID. Keep it across retries. */
  deliveryId?: string;
}

/**
 * The headers that sign `body` in the given style, as its sender would send them: for outbound
 * webhooks (style "hmac") and for tests of inbound ones.
 * @example
 * const body = JSON.stringify({ text: "deployed" });
 * const headers = signWebhook(body, { secret, deliveryId: "d-1" });
 * // { "X-Hearth-Signature": "t=1735689600,v1=5f0c…", "X-Hearth-Delivery": "d-1" }
 * await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
 */
export function signWebhook(body: string | Uint8Array, options: SignWebhookOptions): Record<string, string> {
  const style = options.style ?? "hmac";
  const [secret] = checkOptions({ style, secret: options.secret });
  const bytes = toBytes(body);
  const t = options.timestamp ?? Math.floor(Date.now() / 1000);
  const id = options.deliveryId ?? randomUUID();
  switch (style) {
    case "github":
      return { "X-Hub-Signature-256": `sha256=${hmac(secret!, [bytes]).toString("hex")}`, "X-GitHub-Delivery": id };
    case "slack":
      return { "X-Slack-Signature": `v0=${hmac(secret!, [`v0:${t}:`, bytes]).toString("hex")}`, "X-Slack-Request-Timestamp": String(t) };
    case "stripe":
      return { "Stripe-Signature": `t=${t},v1=${hmac(secret!, [`${t}.`, bytes]).toString("hex")}` };
    case "hmac":
      return { "X-Hearth-Signature": `t=${t},v1=${hmac(secret!, [`${t}.`, bytes]).toString("hex")}`, "X-Hearth-Delivery": id };
  }
}

function checkOptions(options: { style: unknown; secret: unknown }): string[] {
  if (typeof options.style !== "string" || !(options.style in SCHEMES)) {
    throw new TypeError(`webhook style must be one of ${Object.keys(SCHEMES).join(", ")}, got ${JSON.stringify(options.style)}`);
  }
  const secrets = Array.isArray(options.secret) ? (options.secret as unknown[]) : [options.secret];
  if (secrets.length === 0 || !secrets.every((s) => typeof s === "string" && s.length > 0)) {
    throw new TypeError("webhook secret must be a non-empty string (or a list of them, during a rotation)");
  }
  return secrets as string[];
}

function hmac(secret: string, parts: Array<string | Uint8Array>): Buffer {
  const mac = createHmac("sha256", secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * The expected signature some given one equals (of the first secret, when several match), or
 * undefined. Constant time per comparison; a signature that is not 64 hex digits never matches.
 */
function matchedSignature(given: readonly string[], expected: readonly Buffer[]): Buffer | undefined {
  let match: number | undefined;
  for (const text of given) {
    if (!/^[0-9a-fA-F]{64}$/.test(text)) continue;
    const bytes = Buffer.from(text, "hex");
    expected.forEach((candidate, i) => {
      if (timingSafeEqual(bytes, candidate) && (match === undefined || i < match)) match = i;
    });
  }
  return match === undefined ? undefined : expected[match];
}

function checkTolerance(timestamp: number, options: VerifyWebhookOptions): void {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new RangeError(`toleranceSeconds must be a number >= 0, got ${String(tolerance)}`);
  const now = (options.now ?? Date.now()) / 1000;
  const skew = Math.round(timestamp - now);
  if (Math.abs(timestamp - now) > tolerance) {
    throw new WebhookSignatureError(
      "timestamp-outside-tolerance",
      `Webhook refused: its timestamp ${timestamp} is ${Math.abs(skew)} s ${skew < 0 ? "old" : "in the future"}, outside the tolerance of ${tolerance} s (toleranceSeconds)`,
    );
  }
}

function deliveryIdOf(style: WebhookStyle, scheme: Scheme, header: (name: string) => string | undefined, body: Uint8Array, signature: string): string {
  if (scheme.deliveryHeader) {
    const id = header(scheme.deliveryHeader);
    if (id !== undefined && id !== "") return id;
  }
  if (style === "stripe" || style === "slack") {
    const key = style === "stripe" ? "id" : "event_id";
    const id = jsonField(body, key);
    if (id !== undefined) return id;
    if (style === "stripe") throw new WebhookRequestError(400, 'Webhook refused: a stripe-style body must be a JSON event with a string "id"');
  }
  return `sig:${signature}`;
}

function jsonField(body: Uint8Array, key: string): string | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(body).toString("utf8"));
    const field = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
    return typeof field === "string" && field !== "" ? field : undefined;
  } catch {
    return undefined;
  }
}

/** Fields one signature header may hold (`t=…,v1=…,v1=…`): a sender rotating secrets sends a few. */
export const MAX_SIGNATURE_FIELDS = 16;

/** `t=1,v1=a,v1=b` into t → [1], v1 → [a, b]; unknown fields are kept and ignored. */
function parseFields(header: string, name: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const parts = header.split(",", MAX_SIGNATURE_FIELDS + 1);
  // Refused before any signature is computed: the header comes from anyone who can reach the URL.
  if (parts.length > MAX_SIGNATURE_FIELDS) throw malformed(name, `has more than ${MAX_SIGNATURE_FIELDS} fields (MAX_SIGNATURE_FIELDS)`);
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const values = fields.get(key);
    if (values) values.push(part.slice(eq + 1).trim());
    else fields.set(key, [part.slice(eq + 1).trim()]);
  }
  return fields;
}

function parseTimestamp(text: string, header: string): number {
  if (!/^\d{1,12}$/.test(text.trim())) throw malformed(header, `has a timestamp that is not Unix seconds: ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text.trim());
}

function malformed(header: string, what: string): WebhookSignatureError {
  return new WebhookSignatureError("malformed-header", `Webhook refused: the ${header} header ${what}`);
}

function headerReader(headers: WebhookInput["headers"]): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  const lower = new Map(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
  return (name) => {
    const value = lower.get(name.toLowerCase());
    return typeof value === "string" ? value : Array.isArray(value) ? (value as string[]).join(", ") : undefined;
  };
}

function toBytes(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return body instanceof ArrayBuffer ? new Uint8Array(body) : body;
}

/**
 * The body of a Request, refused past `max` bytes without reading the rest.
 * @throws WebhookRequestError (413)
 */
export async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  const bytes = await readBodyBytesWithLimit(request, max);
  if (bytes === undefined) throw declared > max ? tooLarge(declared, max) : tooLarge(max, max, true);
  return bytes;
}

function tooLarge(size: number, max: number, atLeast = false): WebhookRequestError {
  return new WebhookRequestError(413, `Webhook refused: the body is ${atLeast ? "more than " : ""}${atLeast ? max : size} bytes; the limit is ${max} (maxBodyBytes)`);
}
