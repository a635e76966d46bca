/**
 * Limits of Hearth's mail handling, with their defaults. Each is named in docs/limits.md and in the
 * error (or SMTP reply) given at the limit.
 */
export const EMAIL_LIMITS = {
  /** Largest message accepted (SMTP listener, webhook) or sent; Cloudflare Email Routing's limit too. */
  maxEmailBytes: 25 * 1024 * 1024,
  /** Recipients of one message: webhook recipients, to + cc + bcc when sending (the SMTP listener takes one per transaction). */
  maxEmailRecipients: 50,
  /** SMTP clients connected to the listener at once. */
  maxSmtpClients: 100,
  /** Bytes of messages the SMTP listener holds in memory at once, all clients together (receiving and delivering). */
  maxSmtpInFlightBytes: 100 * 1024 * 1024,
  /**
   * How long the SMTP listener waits for the email handler, in seconds; past it the sender gets 451 (it
   * retries) and the message's bytes go back to `maxSmtpInFlightBytes`. Under the 10 minutes senders wait (RFC 5321).
   */
  smtpDeliveryTimeoutSeconds: 5 * 60,
  /** Bytes of a received message's header block (up to the blank line that ends it). */
  maxHeaderBytes: 256 * 1024,
  /** Header fields of a received message. */
  maxHeaderFields: 1_000,
  /** Signed webhook requests: how far the timestamp may be from the server's time, either way, in seconds. */
  webhookSignatureToleranceSeconds: 5 * 60,
  /** How long the webhook remembers a message's outcome per recipient (retries and replays are not delivered again), in seconds. */
  webhookDedupSeconds: 60 * 60,
  /** Outcomes and signatures the webhook remembers at most; past it the oldest are forgotten first. */
  webhookDedupEntries: 10_000,
  /** A message whose References header lists more ids than this cannot be replied to (mail loops). */
  maxReferences: 100,
  /** Age after which a secure-reply signature is refused, in seconds (30 days). */
  signatureMaxAgeSeconds: 30 * 24 * 60 * 60,
  /** How far in the future a signature's timestamp may lie (clock skew), in seconds. */
  signatureClockSkewSeconds: 5 * 60,
} as const;
