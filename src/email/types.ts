/**
 * The shapes of Cloudflare's Email Workers and Agents SDK email API, as Hearth implements them:
 * code written against `ForwardableEmailMessage`, `send_email` bindings and `AgentEmail` runs here.
 */

/** The result of sending or forwarding a message. */
export interface EmailSendResult {
  /** The Message-ID of the message as sent, e.g. `<…@example.com>`. */
  messageId: string;
}

/** A complete RFC 822 message with its envelope: what `new EmailMessage(from, to, raw)` builds. */
export interface RawEmailMessage {
  /** Envelope sender (MAIL FROM). */
  readonly from: string;
  /** Envelope recipient (RCPT TO). */
  readonly to: string;
  /** The message: headers, a blank line, the body. */
  readonly raw: string | Uint8Array | ReadableStream<Uint8Array>;
}

/**
 * An inbound message, as a worker's `email(message, env, ctx)` receives it.
 * @example
 * export default {
 *   async email(message: ForwardableEmailMessage, env: Env) {
 *     if (message.headers.get("subject")?.includes("unsubscribe")) message.setReject("Not here");
 *     else await message.forward("inbox@example.com");
 *   },
 * };
 */
export interface ForwardableEmailMessage {
  /** Envelope sender (MAIL FROM). */
  readonly from: string;
  /** Envelope recipient (RCPT TO): one address; a message for several is delivered once per recipient. */
  readonly to: string;
  /** The message's header fields (values as written, folded lines joined). */
  readonly headers: Headers;
  /** The whole message. */
  readonly raw: ReadableStream<Uint8Array>;
  /** Size of the whole message in bytes. */
  readonly rawSize: number;
  /** Refuses the message: the sender gets a permanent SMTP error (550) with `reason`. */
  setReject(reason: string): void;
  /** Sends the message on to `rcptTo`; only `X-*` headers may be added. */
  forward(rcptTo: string, headers?: Headers): Promise<EmailSendResult>;
  /** Sends `message` back to this message's sender (once per message). */
  reply(message: RawEmailMessage): Promise<EmailSendResult>;
}

/** A mailbox: an address with an optional display name. */
export interface EmailAddress {
  email: string;
  name?: string;
}

/** A file attached to a message built with {@link EmailMessageBuilder}. */
export interface EmailAttachment {
  /** A base64 string, or the bytes. */
  content: string | ArrayBuffer | ArrayBufferView;
  filename: string;
  /** MIME type, e.g. `application/pdf`. */
  type: string;
  disposition?: "attachment" | "inline";
  /** For inline attachments referenced as `cid:` in the HTML. */
  contentId?: string;
}

/** A message described by its fields; the binding composes the MIME. */
export interface EmailMessageBuilder {
  to: string | EmailAddress | (string | EmailAddress)[];
  from: string | EmailAddress;
  subject: string;
  text?: string;
  html?: string;
  cc?: string | EmailAddress | (string | EmailAddress)[];
  bcc?: string | EmailAddress | (string | EmailAddress)[];
  replyTo?: string | EmailAddress;
  attachments?: EmailAttachment[];
  headers?: Record<string, string>;
}

/**
 * The shape of Cloudflare's `send_email` binding (`env.EMAIL`). Hearth's SMTP-backed one is
 * {@link SmtpEmailBinding}; any object with this `send` works wherever a binding is taken.
 * @example
 * const { messageId } = await env.EMAIL.send({ from: "bot@example.com", to: "ada@example.com", subject: "Hi", text: "Hello" });
 */
export interface SendEmail {
  send(message: RawEmailMessage | EmailMessageBuilder): Promise<EmailSendResult>;
}

/**
 * What an agent's `onEmail(email)` receives: the message as routed by `routeAgentEmail`.
 * `reply`, `forward` and `setReject` act on the inbound message while it is being delivered.
 * @example
 * async onEmail(email: AgentEmail) {
 *   const parsed = await PostalMime.parse(await email.getRaw());
 *   this.sql`INSERT INTO inbox VALUES (${email.from}, ${parsed.subject ?? ""})`;
 * }
 */
export interface AgentEmail {
  readonly from: string;
  readonly to: string;
  readonly headers: Headers;
  readonly rawSize: number;
  /** The whole message, bytes as received. */
  getRaw(): Promise<Uint8Array>;
  setReject(reason: string): void;
  forward(rcptTo: string, headers?: Headers): Promise<EmailSendResult>;
  reply(message: { from: string; to: string; raw: string | Uint8Array }): Promise<EmailSendResult>;
  /** @internal Set when a secure-reply resolver routed the message: replies must then be signed (or opt out with `secret: null`). */
  readonly _secureRouted?: boolean;
}

/** Where a resolver sends a message: the agent class (binding name, kebab-case or lower-case) and instance. */
export type EmailResolverResult = {
  agentName: string;
  agentId: string;
  /** @internal Set by createSecureReplyEmailResolver. */
  _secureRouted?: boolean;
} | null;

/** Picks the agent for an inbound message; null when it has no route. */
export type EmailResolver<Env = Record<string, unknown>> = (email: ForwardableEmailMessage, env: Env) => Promise<EmailResolverResult>;

/** Options of `routeAgentEmail`. */
export interface EmailRoutingOptions<Env = Record<string, unknown>> {
  resolver: EmailResolver<Env>;
  /** Called when the resolver finds no route. Without it, a warning is logged and the message is dropped (accepted). */
  onNoRoute?: (email: ForwardableEmailMessage) => void | Promise<void>;
}

/** Why a secure-reply signature was refused. */
export type SignatureFailureReason = "missing_headers" | "expired" | "invalid" | "malformed_timestamp";

/** Options of `createSecureReplyEmailResolver`. */
export interface SecureReplyResolverOptions {
  /** Oldest signature accepted, in seconds. Default 30 days. */
  maxAge?: number;
  /** Called when a message's signature is missing or refused (the resolver then returns null). */
  onInvalidSignature?: (email: ForwardableEmailMessage, reason: SignatureFailureReason) => void;
}

/** A header as postal-mime (and similar parsers) list them: lower-case key, value. */
export interface EmailHeader {
  key: string;
  value: string;
}

/** Options of `this.replyToEmail(email, options)`. */
export interface ReplyToEmailOptions {
  /** Display name of the sender; the address is the one the message was sent to. */
  fromName: string;
  /** Default: `Re: <original subject>`. */
  subject?: string;
  body: string;
  /** `text/plain` (default) or `text/html`. */
  contentType?: string;
  headers?: Record<string, string>;
  /**
   * Signs the routing headers so replies come back to this agent through
   * `createSecureReplyEmailResolver`. Required (a string, or `null` to opt out) when the message
   * was itself routed by that resolver.
   */
  secret?: string | null;
}

/** Options of `this.sendEmail(options)`: a message plus the binding to send it with. */
export interface SendEmailOptions {
  /**
   * The `send_email` binding, e.g. `this.env.EMAIL`. When absent (or undefined), `env.EMAIL` or the
   * SMTP server of `HEARTH_SMTP_URL` is used.
   */
  binding?: SendEmail | undefined;
  to: string | string[];
  from: string | EmailAddress;
  subject: string;
  text?: string;
  html?: string;
  replyTo?: string | EmailAddress;
  cc?: string | string[];
  bcc?: string | string[];
  /** Message-ID this message answers (threading). */
  inReplyTo?: string;
  headers?: Record<string, string>;
  /** Files to attach (a Hearth addition; bindings that do not take attachments ignore it). */
  attachments?: EmailAttachment[];
  /** Signs the routing headers for `createSecureReplyEmailResolver`. */
  secret?: string;
}

/** Passed as the third argument of a worker's `email` handler. */
export interface EmailExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

/** A worker's email handler: `export default { email }`. */
export type WorkerEmail = (
  message: ForwardableEmailMessage,
  env: Record<string, unknown>,
  ctx: EmailExecutionContext,
) => void | Promise<void>;
