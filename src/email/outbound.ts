import type { SendMailOptions, Transporter } from "nodemailer";
import { isRawEmailMessage, rawBytes } from "./email-message.ts";
import { EmailError } from "./errors.ts";
import { parseHeaderBlock } from "./headers.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { EmailAddress, EmailAttachment, EmailMessageBuilder, EmailSendResult, RawEmailMessage, SendEmail } from "./types.ts";

/** The variable naming the outbound SMTP server, e.g. `smtps://user:pass@smtp.example.com:465`. */
export const SMTP_URL_VAR = "HEARTH_SMTP_URL";

/**
 * Headers that a message built from fields sets through its fields (Cloudflare refuses them in
 * `headers` with E_HEADER_USE_API_FIELD), by lower-case name: the field to use instead.
 */
const FIELD_HEADERS: Readonly<Record<string, string>> = { from: "from", to: "to", cc: "cc", bcc: "bcc", subject: "subject", "reply-to": "replyTo" };

/**
 * A `send_email`-shaped binding that delivers through an SMTP server (nodemailer): messages built
 * from fields, or complete raw messages (`new EmailMessage(from, to, raw)`). The CLI binds one as
 * `env.EMAIL` when `HEARTH_SMTP_URL` is set. An `smtp://` URL with a user or password requires
 * STARTTLS, so the password never crosses the network in clear (a server that does not offer it is
 * refused); `?requireTLS=false` in the URL sends without it.
 * @example
 * const email = new SmtpEmailBinding("smtp://user:pass@smtp.example.com:587");
 * await email.send({ from: "bot@example.com", to: "ada@example.com", subject: "Hi", text: "Hello" });
 */
export class SmtpEmailBinding implements SendEmail {
  /** The server, with any password hidden: safe to print. */
  readonly server: string;
  readonly #url: string;
  /** Whether TLS is required because the URL has credentials (and does not say otherwise). */
  readonly #tlsForCredentials: boolean;
  // nodemailer is loaded at the first send: a server that never sends mail does not pay for it at start.
  #transport: Promise<Transporter> | undefined;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EmailError("not_configured", `${SMTP_URL_VAR} is not a URL: expected smtp://[user:pass@]host[:port] or smtps://…`);
    }
    if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
      throw new EmailError("not_configured", `${SMTP_URL_VAR} must start with smtp:// or smtps://, got ${parsed.protocol}//`);
    }
    const hasCredentials = parsed.username !== "" || parsed.password !== "";
    this.#tlsForCredentials = parsed.protocol === "smtp:" && hasCredentials && !parsed.searchParams.has("requireTLS");
    if (parsed.password) parsed.password = "***";
    this.server = parsed.toString();
    this.#url = url;
  }

  async send(message: RawEmailMessage | EmailMessageBuilder): Promise<EmailSendResult> {
    const options = isRawEmailMessage(message) ? await rawOptions(message) : builderOptions(message);
    try {
      // Settings in the URL win over this default (nodemailer merges them on top).
      const settings = { url: this.#url, ...(this.#tlsForCredentials ? { requireTLS: true } : {}) };
      this.#transport ??= import("nodemailer").then(({ createTransport }) => createTransport(settings));
      const info = (await (await this.#transport).sendMail(options)) as { messageId?: string; rejected?: unknown[] };
      const messageId = options.raw ? (messageIdOf(options.raw as Uint8Array) ?? info.messageId ?? "") : (info.messageId ?? "");
      return { messageId };
    } catch (error) {
      throw sendFailure(error, this.server, this.#tlsForCredentials);
    }
  }
}

async function rawOptions(message: RawEmailMessage): Promise<SendMailOptions> {
  if (!message.from || !message.to) throw new EmailError("invalid_message", "A raw message needs an envelope: new EmailMessage(from, to, raw)");
  const raw = await rawBytes(message.raw);
  return { envelope: { from: message.from, to: [message.to] }, raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) };
}

function builderOptions(message: EmailMessageBuilder): SendMailOptions {
  if (typeof message !== "object" || message === null) throw new EmailError("invalid_message", "send() takes an EmailMessage or { from, to, subject, text | html }");
  const to = addressList(message.to, "to");
  const cc = addressList(message.cc, "cc");
  const bcc = addressList(message.bcc, "bcc");
  if (to.length === 0) throw new EmailError("invalid_message", "The message has no recipient (to)");
  const count = to.length + cc.length + bcc.length;
  if (count > EMAIL_LIMITS.maxEmailRecipients) {
    throw new EmailError("limit", `The message has ${count} recipients; at most ${EMAIL_LIMITS.maxEmailRecipients} (maxEmailRecipients)`);
  }
  if (!message.from) throw new EmailError("invalid_message", "The message has no sender (from)");
  if (typeof message.subject !== "string") throw new EmailError("invalid_message", "The message has no subject");
  if (message.text === undefined && message.html === undefined) throw new EmailError("invalid_message", "The message needs text or html");
  for (const name of Object.keys(message.headers ?? {})) {
    const field = FIELD_HEADERS[name.toLowerCase()];
    if (field) throw new EmailError("invalid_message", `Header '${name}' must be set via the '${field}' field, not the 'headers' object (E_HEADER_USE_API_FIELD)`);
  }
  return {
    from: mailbox(message.from),
    to,
    cc,
    bcc,
    subject: message.subject,
    ...(message.replyTo ? { replyTo: mailbox(message.replyTo) } : {}),
    ...(message.text !== undefined ? { text: message.text } : {}),
    ...(message.html !== undefined ? { html: message.html } : {}),
    ...(message.headers ? { headers: message.headers } : {}),
    ...(message.attachments ? { attachments: message.attachments.map(attachment) } : {}),
  };
}

type Mailbox = string | { name: string; address: string };

function mailbox(value: string | EmailAddress): Mailbox {
  if (typeof value === "string") return value;
  if (!value?.email) throw new EmailError("invalid_message", "An address object needs an email field: { email, name? }");
  return { name: value.name ?? "", address: value.email };
}

function addressList(value: EmailMessageBuilder["to"] | undefined, field: string): Mailbox[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    if (typeof entry !== "string" && typeof entry?.email !== "string") throw new EmailError("invalid_message", `${field} has an entry that is not an address`);
    return mailbox(entry);
  });
}

function attachment(file: EmailAttachment): NonNullable<SendMailOptions["attachments"]>[number] {
  const content =
    typeof file.content === "string"
      ? Buffer.from(file.content, "base64")
      : file.content instanceof ArrayBuffer
        ? Buffer.from(file.content)
        : Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
  return {
    filename: file.filename,
    content,
    contentType: file.type,
    contentDisposition: file.disposition ?? "attachment",
    ...(file.contentId ? { cid: file.contentId } : {}),
  };
}

/** The Message-ID header of a raw message, if it has one (none read past the header limits: the message is already sent). */
function messageIdOf(raw: Uint8Array): string | undefined {
  try {
    return parseHeaderBlock(raw).find((h) => h.key === "message-id")?.value;
  } catch {
    return undefined;
  }
}

function sendFailure(error: unknown, server: string, tlsForCredentials: boolean): EmailError {
  if (error instanceof EmailError) return error;
  const detail = error as { message?: string; responseCode?: number; response?: string; code?: string };
  const responseCode = typeof detail.responseCode === "number" ? detail.responseCode : undefined;
  const reason = detail.response ?? detail.message ?? String(error);
  const hint =
    tlsForCredentials && detail.code === "ETLS"
      ? ` (${SMTP_URL_VAR} has credentials, so STARTTLS is required and the password is not sent in clear: use smtps://, a server that offers STARTTLS, or add ?requireTLS=false to the URL to send it without TLS)`
      : "";
  const message = responseCode
    ? `The SMTP server ${server} refused the message: ${reason}${hint}`
    : `Could not send through the SMTP server ${server}: ${reason}${hint}`;
  return new EmailError("send_failed", message, { cause: error, ...(responseCode ? { responseCode } : {}) });
}

const bindings = new Map<string, SmtpEmailBinding>();

/** One binding per SMTP URL, so the process keeps one transport per server. */
export function smtpBindingFor(url: string): SmtpEmailBinding {
  let binding = bindings.get(url);
  if (!binding) {
    binding = new SmtpEmailBinding(url);
    bindings.set(url, binding);
  }
  return binding;
}

/** Whether `value` has the shape of a `send_email` binding. */
export function isSendEmail(value: unknown): value is SendEmail {
  return typeof value === "object" && value !== null && typeof (value as { send?: unknown }).send === "function";
}

/**
 * The outbound transport for `env`: `env.EMAIL` when it is a `send_email`-shaped binding, else the
 * SMTP server of `HEARTH_SMTP_URL` (in `env`, then in the process environment). What
 * `this.sendEmail()` uses without a `binding`.
 * @throws {EmailError} "not_configured" naming both ways to configure one.
 */
export function resolveOutbound(env: Record<string, unknown> | undefined): SendEmail {
  const bound = env?.EMAIL;
  if (isSendEmail(bound)) return bound;
  const url = smtpUrlOf(env);
  if (url) return smtpBindingFor(url);
  throw new EmailError(
    "not_configured",
    `No outbound mail transport: set ${SMTP_URL_VAR} (e.g. smtps://user:pass@smtp.example.com:465) in the environment or .env, ` +
      `bind a send_email-shaped object as env.EMAIL, or pass { binding } to sendEmail`,
  );
}

/**
 * The host's own outbound transport, the SMTP server of `HEARTH_SMTP_URL` (in `env`, then in the
 * process environment), else a send-shaped `env.EMAIL`: what `forward()` and `reply()` of a received email go through. On Cloudflare
 * those belong to Email Routing, not to a `send_email` binding, so the worker's `env.EMAIL` (and the
 * `destination_address` / `allowed_sender_addresses` restrictions of a `send_email` binding so named)
 * play no part.
 * @throws {EmailError} "not_configured" saying how to set HEARTH_SMTP_URL.
 */
export function hostOutbound(env: Record<string, unknown> | undefined): SendEmail {
  const url = smtpUrlOf(env);
  if (url) return smtpBindingFor(url);
  // No host transport: a send-shaped env.EMAIL the application bound itself (a test's, a relay's) still carries them.
  const bound = env?.EMAIL;
  if (isSendEmail(bound)) return bound;
  throw new EmailError(
    "not_configured",
    `No outbound mail server for forward() and reply(): set ${SMTP_URL_VAR} (e.g. smtps://user:pass@smtp.example.com:465) in the environment or .env`,
  );
}

/** `HEARTH_SMTP_URL` from `env` (a var), else from the process environment; undefined when unset or empty. */
function smtpUrlOf(env: Record<string, unknown> | undefined): string | undefined {
  const fromEnv = env?.[SMTP_URL_VAR];
  const url = typeof fromEnv === "string" && fromEnv !== "" ? fromEnv : process.env[SMTP_URL_VAR];
  return url === undefined || url === "" ? undefined : url;
}
