import { createHash, timingSafeEqual } from "node:crypto";
import { addressParser, decodeWords } from "postal-mime";
import { readBodyBytesWithLimit } from "../gateway/bounded-body.ts";
import { deliverInbound, type DeliveryOutcome } from "./deliver.ts";
import { parseHeaderBlock } from "./headers.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { WorkerEmail } from "./types.ts";

/** Where the CLI serves the inbound-mail webhook. */
export const WEBHOOK_PATH = "/_hearth/email";
/** The variable holding the webhook's shared secret; without it the webhook is off. */
export const WEBHOOK_SECRET_VAR = "HEARTH_EMAIL_WEBHOOK_SECRET";

export interface MailWebhookOptions {
  /** The shared secret a request must carry as `Authorization: Bearer <secret>`. */
  secret: string;
  /** The worker's `email(message, env, ctx)`. */
  handler: WorkerEmail | undefined;
  env: Record<string, unknown>;
  /** Default `/_hearth/email`. */
  path?: string;
  /** Default 25 MiB (`maxEmailBytes`). */
  maxEmailBytes?: number;
  /** Default 50 (`maxEmailRecipients`). */
  maxRecipients?: number;
}

/**
 * An HTTP endpoint for mail providers that POST inbound mail: the body is the raw RFC 822 message,
 * `Authorization: Bearer <secret>` is required, and the envelope comes from the `from` and `to`
 * query parameters (`to` may repeat) or else from the From and To headers. The message then goes
 * to the worker's email handler exactly as one received over SMTP. Answers: 200 accepted, 401
 * without the secret, 413 over `maxEmailBytes`, 400 for a malformed request, 422 when the handler
 * rejected it (`setReject`) or no agent matches, 503 when the handler failed (the provider retries).
 * Returns undefined for requests to other paths.
 * @example
 * const webhook = createMailWebhook({ secret: process.env.HEARTH_EMAIL_WEBHOOK_SECRET!, handler: worker.email, env });
 * const response = webhook(request) ?? (await worker.fetch(request, env, ctx));
 */
export function createMailWebhook(options: MailWebhookOptions): (request: Request) => Promise<Response> | undefined {
  if (typeof options.secret !== "string" || options.secret.length === 0) {
    throw new TypeError(`createMailWebhook: a non-empty secret is required (${WEBHOOK_SECRET_VAR})`);
  }
  const path = options.path ?? WEBHOOK_PATH;
  const expected = digest(options.secret);
  const maxBytes = options.maxEmailBytes ?? EMAIL_LIMITS.maxEmailBytes;
  const maxRecipients = options.maxRecipients ?? EMAIL_LIMITS.maxEmailRecipients;

  const handle = async (request: Request, url: URL): Promise<Response> => {
    if (request.method !== "POST") return problem(405, "Send the raw message with POST", { allow: "POST" });
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim();
    if (!token || !timingSafeEqual(digest(token), expected)) {
      await request.body?.cancel().catch(() => {});
      return problem(401, `Missing or wrong secret: send Authorization: Bearer <${WEBHOOK_SECRET_VAR}>`, { "www-authenticate": "Bearer" });
    }
    const raw = await readBodyBytesWithLimit(request, maxBytes);
    if (raw === undefined) return problem(413, `Message too large: at most ${maxBytes} bytes (maxEmailBytes)`);
    if (!raw || raw.byteLength === 0) return problem(400, "The body must be the raw RFC 822 message");
    const fields = parseHeaderBlock(raw);
    const from = url.searchParams.get("from") ?? addressesIn(fields, "from")[0];
    const queried = url.searchParams.getAll("to").flatMap((to) => to.split(",")).map((to) => to.trim()).filter(Boolean);
    const recipients = queried.length > 0 ? queried : addressesIn(fields, "to");
    if (!from) return problem(400, "No sender: pass ?from=<address> or send a message with a From header");
    if (recipients.length === 0) return problem(400, "No recipient: pass ?to=<address> or send a message with a To header");
    if (recipients.length > maxRecipients) {
      return problem(400, `Too many recipients: ${recipients.length}, at most ${maxRecipients} per message (maxEmailRecipients)`);
    }
    return answerFor(await deliverInbound({ raw, from, recipients }, options.handler, options.env));
  };

  return (request) => {
    const url = new URL(request.url);
    return url.pathname === path ? handle(request, url) : undefined;
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function problem(status: number, error: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error }, { status, headers });
}

/** The addresses of a header (From, To), decoded. */
function addressesIn(fields: ReturnType<typeof parseHeaderBlock>, key: string): string[] {
  const value = fields.find((h) => h.key === key)?.value;
  if (!value) return [];
  const out: string[] = [];
  for (const entry of addressParser(decodeWords(value))) {
    if ("group" in entry && Array.isArray(entry.group)) out.push(...entry.group.map((member) => member.address));
    else if ("address" in entry && entry.address) out.push(entry.address);
  }
  return out.filter((address) => address.includes("@"));
}

function answerFor(outcome: DeliveryOutcome): Response {
  switch (outcome.kind) {
    case "accepted":
      return Response.json({ accepted: true, recipients: outcome.recipients });
    case "rejected":
      return Response.json({ accepted: false, recipient: outcome.recipient, error: outcome.reason }, { status: 422 });
    case "failed":
      if (outcome.permanent) return Response.json({ accepted: false, recipient: outcome.recipient, error: `No mailbox for ${outcome.recipient}` }, { status: 422 });
      console.error(`[hearth] the email handler failed for ${outcome.recipient}; the provider should retry:`, outcome.error);
      return Response.json({ accepted: false, error: "Temporary failure while delivering the message; try again later" }, { status: 503, headers: { "retry-after": "60" } });
  }
}
