/** What went wrong with a mail operation. */
export type EmailErrorCode =
  /** No outbound transport: neither a `send_email`-shaped binding nor HEARTH_SMTP_URL. */
  | "not_configured"
  /** The outbound SMTP server refused the message or could not be reached. */
  | "send_failed"
  /** A message or an option is malformed (missing recipient, bad header name, …). */
  | "invalid_message"
  /** A limit of docs/limits.md was reached; the message names it. */
  | "limit"
  /** The resolver named an agent class that is not bound in env. */
  | "unknown_agent"
  /** reply/forward/setReject after the delivery of the email ended, or a second reply. */
  | "delivery_over";

/**
 * A mail operation failed. `permanent` errors are answered with a 5xx SMTP reply (the sender
 * gives up); any other error thrown by an email handler gets a 4xx (the sender retries later).
 * @example
 * try { await this.sendEmail({ to, from, subject, text }); }
 * catch (error) { if (error instanceof EmailError && error.code === "not_configured") console.warn(error.message); }
 */
export class EmailError extends Error {
  readonly code: EmailErrorCode;
  /** Whether retrying the same message cannot succeed. */
  readonly permanent: boolean;
  /** The SMTP reply code of a refused outbound message, when there was one. */
  readonly responseCode: number | undefined;

  constructor(code: EmailErrorCode, message: string, options: { cause?: unknown; responseCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EmailError";
    this.code = code;
    this.responseCode = options.responseCode;
    this.permanent = code !== "send_failed" || (options.responseCode !== undefined && options.responseCode >= 500);
  }
}
