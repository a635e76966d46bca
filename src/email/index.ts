/**
 * hearth/email: agents that receive and send mail, compatible with Cloudflare's Agents SDK
 * (`agents/email`) and Email Workers. Inbound mail arrives over Hearth's SMTP listener
 * (`hearth dev|start --smtp-port`) or a webhook, reaches the worker's `email(message, env, ctx)`,
 * and `routeAgentEmail` hands it to an agent's `onEmail`; outbound mail goes through an SMTP server
 * (`HEARTH_SMTP_URL`) or any `send_email`-shaped binding.
 * @example
 * import { Agent, routeAgentEmail } from "hearth";
 * import { createAddressBasedEmailResolver, type AgentEmail } from "hearth/email";
 * export class Inbox extends Agent {
 *   async onEmail(email: AgentEmail) {
 *     await this.replyToEmail(email, { fromName: "Inbox", body: "Got it" });
 *   }
 * }
 * export default {
 *   email: (message, env) => routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Inbox") }),
 * };
 * @packageDocumentation
 */
export { routeAgentEmail } from "./route.ts";
export { createAddressBasedEmailResolver, createCatchAllEmailResolver, createSecureReplyEmailResolver } from "./resolvers.ts";
export { signAgentHeaders, DEFAULT_MAX_AGE_SECONDS } from "./signing.ts";
export {
  isAutoReplyEmail,
  parseEmailHeaders,
  getEmailHeader,
  hasEmailHeader,
  hasAnyEmailHeader,
  getAllEmailHeaders,
} from "./headers.ts";
export { EmailMessage } from "./email-message.ts";
export { SmtpEmailBinding, SMTP_URL_VAR } from "./outbound.ts";
export { startSmtpListener, type SmtpListener, type SmtpListenerOptions } from "./smtp-listener.ts";
export { createMailWebhook, WEBHOOK_PATH, WEBHOOK_SECRET_VAR, WEBHOOK_AUTH_VAR, type MailWebhookAuth, type MailWebhookOptions } from "./webhook.ts";
export { signWebhookRequest, WEBHOOK_SIGNATURE_HEADERS } from "./webhook-signature.ts";
export { EmailError, type EmailErrorCode } from "./errors.ts";
export { EMAIL_LIMITS } from "./limits.ts";
export type {
  AgentEmail,
  EmailAddress,
  EmailAttachment,
  EmailExecutionContext,
  EmailHeader,
  EmailMessageBuilder,
  EmailResolver,
  EmailResolverResult,
  EmailRoutingOptions,
  EmailSendResult,
  ForwardableEmailMessage,
  RawEmailMessage,
  ReplyToEmailOptions,
  SecureReplyResolverOptions,
  SendEmail,
  SendEmailOptions,
  SignatureFailureReason,
  WorkerEmail,
} from "./types.ts";
