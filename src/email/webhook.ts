import { createHash, timingSafeEqual } from "node:crypto";
import { addressParser, decodeWords } from "postal-mime";
import { readBodyBytesWithLimit } from "../gateway/bounded-body.ts";
import { isMailAddress } from "./address.ts";
import { deliverTo, receivedMail, type ReceivedMail, type RecipientOutcome } from "./deliver.ts";
import { EmailError } from "./errors.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { EmailHeader, WorkerEmail } from "./types.ts";
import { DeliveryLedger, messageKeyOf } from "./webhook-ledger.ts";
import { readSignatureHeaders, verifyWebhookSignature } from "./webhook-signature.ts";

/** Where the CLI serves the inbound-mail webhook. */
export const WEBHOOK_PATH = "/_hearth/email";
/** The variable holding the webhook's shared secret; without it the webhook is off. */
export const WEBHOOK_SECRET_VAR = "HEARTH_EMAIL_WEBHOOK_SECRET";
/** The variable choosing how requests prove they know the secret: `bearer` (default) or `signature`. */
export const WEBHOOK_AUTH_VAR = "HEARTH_EMAIL_WEBHOOK_AUTH";

/** How a webhook request proves it knows the secret. */
export type MailWebhookAuth = "bearer" | "signature";

export interface MailWebhookOptions {
  /** The shared secret: sent as `Authorization: Bearer <secret>`, or the HMAC key in signature mode. */
  secret: string;
  /**
   * `"bearer"` (default): `Authorization: Bearer <secret>`. `"signature"`: each request is signed
   * (`X-Hearth-Email-Timestamp`, `X-Hearth-Email-Signature: v2=<hex HMAC-SHA256 of
   * "<timestamp>\n<METHOD> <path>?<query>\n<body>">`, see `signWebhookRequest`), refused outside the
   * tolerance window; a replay within it reaches no recipient twice.
   */
  auth?: MailWebhookAuth;
  /** The worker's `email(message, env, ctx)`. */
  handler: WorkerEmail | undefined;
  env: Record<string, unknown>;
  /** Where the handler's `ctx.waitUntil` work goes (a runtime that waits for it at shutdown); default: logged only. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Default `/_hearth/email`. */
  path?: string;
  /** Default 25 MiB (`maxEmailBytes`). */
  maxEmailBytes?: number;
  /** Default 50 (`maxEmailRecipients`). */
  maxRecipients?: number;
  /** Signature mode: how far a request's timestamp may be from now, either way. Default 300 s (`webhookSignatureToleranceSeconds`). */
  toleranceSeconds?: number;
  /** How long a message's outcome per recipient is remembered. Default 3600 s (`webhookDedupSeconds`), at least twice the tolerance. */
  dedupSeconds?: number;
}

/**
 * An HTTP endpoint for mail providers that POST inbound mail: the body is the raw RFC 822 message,
 * authenticated with the shared secret (a bearer token, or in `auth: "signature"` mode an HMAC of
 * timestamp, method, path, query and body), and the envelope comes from the `from` and `to` query parameters (`to` may
 * repeat or list addresses with commas) or else from the From and To headers. The message then goes
 * to the worker's email handler for each recipient, exactly as one received over SMTP. A message
 * (by a digest of its bytes) is handed to each recipient once: a retry or a replay reaches only
 * the recipients whose delivery has not ended. Answers: 200 accepted (`duplicate: true` when nothing
 * was new), 401 without the secret or with a bad signature, 413 over `maxEmailBytes` or a header
 * block over `maxHeaderBytes` / `maxHeaderFields`, 400 for a
 * malformed request, 422 when the handler rejected it (`setReject`) or no agent matches, 503 when
 * the handler failed (the provider retries). Returns undefined for requests to other paths.
 * @example
 * const webhook = createMailWebhook({ secret: process.env.HEARTH_EMAIL_WEBHOOK_SECRET!, auth: "signature", handler: worker.email, env });
 * const response = webhook(request) ?? (await worker.fetch(request, env, ctx));
 */
export function createMailWebhook(options: MailWebhookOptions): (request: Request) => Promise<Response> | undefined {
  if (typeof options.secret !== "string" || options.secret.length === 0) {
    throw new TypeError(`createMailWebhook: a non-empty secret is required (${WEBHOOK_SECRET_VAR})`);
  }
  const auth = options.auth ?? "bearer";
  if (auth !== "bearer" && auth !== "signature") throw new TypeError(`createMailWebhook: auth must be "bearer" or "signature", got ${JSON.stringify(auth)}`);
  const path = options.path ?? WEBHOOK_PATH;
  const expected = digest(options.secret);
  const maxBytes = options.maxEmailBytes ?? EMAIL_LIMITS.maxEmailBytes;
  const maxRecipients = options.maxRecipients ?? EMAIL_LIMITS.maxEmailRecipients;
  const tolerance = positive("toleranceSeconds", options.toleranceSeconds ?? EMAIL_LIMITS.webhookSignatureToleranceSeconds);
  // A signature lives 2 × tolerance (a timestamp from the future, then its past): outcomes must outlive it.
  const retention = Math.max(positive("dedupSeconds", options.dedupSeconds ?? EMAIL_LIMITS.webhookDedupSeconds), 2 * tolerance);
  const ledger = new DeliveryLedger(retention, EMAIL_LIMITS.webhookDedupEntries);

  const handle = async (request: Request, url: URL): Promise<Response> => {
    if (request.method !== "POST") return problem(405, "Send the raw message with POST", { allow: "POST" });
    if (auth === "bearer") {
      const token = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim();
      if (!token || !timingSafeEqual(digest(token), expected)) {
        await request.body?.cancel().catch(() => {});
        return problem(401, `Missing or wrong secret: send Authorization: Bearer <${WEBHOOK_SECRET_VAR}>`, { "www-authenticate": "Bearer" });
      }
    }
    // The signature's headers are checked before the body is read: an unsigned request costs no memory.
    const signed = auth === "signature" ? readSignatureHeaders(request.headers, tolerance) : undefined;
    if (signed && !signed.ok) {
      await request.body?.cancel().catch(() => {});
      return problem(401, signed.error);
    }
    const raw = await readBodyBytesWithLimit(request, maxBytes);
    if (raw === undefined) return problem(413, `Message too large: at most ${maxBytes} bytes (maxEmailBytes)`);
    if (signed) {
      const wrong = verifyWebhookSignature(options.secret, signed, { method: request.method, url }, raw);
      if (wrong) return problem(401, wrong);
    }
    if (raw.byteLength === 0) return problem(400, "The body must be the raw RFC 822 message");
    const mail = receivedMailOf(raw, url);
    if (mail instanceof Response) return mail;
    const { message, recipients } = mail;
    if (recipients.length > maxRecipients) {
      return problem(400, `Too many recipients: ${recipients.length}, at most ${maxRecipients} per message (maxEmailRecipients)`);
    }
    const key = messageKeyOf(message);
    const outcomes: RecipientOutcome[] = [];
    let fresh = 0;
    for (const recipient of recipients) {
      const earlier = ledger.outcomeOf(key, recipient);
      if (earlier) {
        outcomes.push(await earlier);
        continue;
      }
      const outcome = deliverTo(message, recipient, options.handler, options.env, options.waitUntil ? { waitUntil: options.waitUntil } : {});
      ledger.record(key, recipient, outcome);
      outcomes.push(await outcome);
      fresh++;
    }
    return answerFor(outcomes, recipients, fresh === 0);
  };

  return (request) => {
    const url = new URL(request.url);
    return url.pathname === path ? handle(request, url) : undefined;
  };
}

/** The message and its envelope (from the query, else the headers), or the 400 saying what is wrong. */
function receivedMailOf(raw: Uint8Array, url: URL): { message: ReceivedMail; recipients: string[] } | Response {
  const queriedFrom = url.searchParams.get("from")?.trim();
  const queriedTo = url.searchParams.getAll("to").flatMap((to) => to.split(",")).map((to) => to.trim()).filter(Boolean);
  for (const address of [...(queriedFrom ? [queriedFrom] : []), ...queriedTo]) {
    if (!isMailAddress(address)) return problem(400, `Not a mail address: ${JSON.stringify(address.slice(0, 300))} (?from and ?to take bare addresses, local@domain)`);
  }
  let probe: ReceivedMail;
  try {
    probe = receivedMail(raw, "");
  } catch (error) {
    if (error instanceof EmailError && error.code === "limit") return problem(413, error.message);
    throw error;
  }
  const from = queriedFrom || addressesIn(probe.fields, "from")[0];
  const recipients = queriedTo.length > 0 ? queriedTo : addressesIn(probe.fields, "to");
  if (!from) return problem(400, "No sender: pass ?from=<address> or send a message with a From header holding an address");
  if (recipients.length === 0) return problem(400, "No recipient: pass ?to=<address> or send a message with a To header holding an address");
  return { message: { ...probe, from }, recipients: [...new Set(recipients)] };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`createMailWebhook: ${name} must be a number of seconds > 0, got ${value}`);
  return value;
}

function problem(status: number, error: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error }, { status, headers });
}

/** The addresses of a header (From, To), decoded; entries that are not addresses are left out. */
function addressesIn(fields: readonly EmailHeader[], key: string): string[] {
  const value = fields.find((h) => h.key === key)?.value;
  if (!value) return [];
  const out: string[] = [];
  for (const entry of addressParser(decodeWords(value))) {
    if ("group" in entry && Array.isArray(entry.group)) out.push(...entry.group.map((member) => member.address));
    else if ("address" in entry && entry.address) out.push(entry.address);
  }
  return out.filter(isMailAddress);
}

/** One answer for the whole request: a temporary failure first (the provider retries; recipients done stay done), then a refusal. */
function answerFor(outcomes: readonly RecipientOutcome[], recipients: readonly string[], duplicate: boolean): Response {
  const delivered = outcomes.filter((o) => o.kind === "accepted").map((o) => o.recipient);
  const retry = outcomes.find((o): o is Extract<RecipientOutcome, { kind: "failed" }> => o.kind === "failed" && !o.permanent);
  if (retry) {
    console.error(`[hearth] the email handler failed for ${retry.recipient}; the provider should retry:`, retry.error);
    return Response.json(
      { accepted: false, recipient: retry.recipient, delivered, error: "Temporary failure while delivering the message; try again later (recipients already delivered are not sent it again)" },
      { status: 503, headers: { "retry-after": "60" } },
    );
  }
  for (const outcome of outcomes) {
    if (outcome.kind === "rejected") return Response.json({ accepted: false, recipient: outcome.recipient, delivered, error: outcome.reason }, { status: 422 });
    if (outcome.kind === "failed") return Response.json({ accepted: false, recipient: outcome.recipient, delivered, error: `No mailbox for ${outcome.recipient}` }, { status: 422 });
  }
  return Response.json({ accepted: true, recipients, ...(duplicate ? { duplicate: true } : {}) });
}
