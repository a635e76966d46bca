import type { ProjectConfig, SendEmailConfig } from "../config/types.ts";
import { EmailMessage, isRawEmailMessage } from "../email/email-message.ts";
import { EmailError } from "../email/errors.ts";
import { smtpBindingFor } from "../email/outbound.ts";
import { SMTP_URL_VAR } from "../email/outbound.ts";
import type { EmailMessageBuilder, EmailSendResult, RawEmailMessage, SendEmail } from "../email/types.ts";

/**
 * A `send_email` binding: mail goes out through the SMTP server of HEARTH_SMTP_URL, restricted as
 * the config says (`destination_address`, `allowed_destination_addresses`, `allowed_sender_addresses`).
 * With `destination_address`, a message whose `to` is null or undefined goes there, as on Cloudflare.
 * Without HEARTH_SMTP_URL, `send()` fails with a message that says how to set it.
 */
export function sendEmailBinding(config: SendEmailConfig, smtpUrl: string | undefined, project: ProjectConfig): SendEmail {
  const name = `env.${config.name} (send_email in ${project.path})`;
  return {
    async send(message: RawEmailMessage | EmailMessageBuilder): Promise<EmailSendResult> {
      if (smtpUrl === undefined || smtpUrl === "") {
        throw new EmailError("not_configured", `${name} has no mail server: set ${SMTP_URL_VAR}=smtp://user:pass@host:587 (or smtps://…:465)`);
      }
      const addressed = withDestination(config, message);
      checkAllowed(config, addressed, name);
      return smtpBindingFor(smtpUrl).send(addressed);
    },
  };
}

/** The message, sent to the binding's `destination_address` when it names no recipient. */
function withDestination(config: SendEmailConfig, message: RawEmailMessage | EmailMessageBuilder): RawEmailMessage | EmailMessageBuilder {
  const destination = config.destinationAddress;
  if (destination === undefined || typeof message !== "object" || message === null) return message;
  const to = (message as { to?: unknown }).to;
  if (to !== undefined && to !== null) return message;
  return isRawEmailMessage(message) ? new EmailMessage(message.from, destination, message.raw) : { ...message, to: destination };
}

function checkAllowed(config: SendEmailConfig, message: RawEmailMessage | EmailMessageBuilder, name: string): void {
  const recipients = recipientsOf(message);
  const senders = senderOf(message);
  const allowedTo = config.destinationAddress !== undefined ? [config.destinationAddress] : config.allowedDestinationAddresses;
  if (allowedTo !== undefined) {
    const refused = recipients.filter((address) => !allowedTo.some((allowed) => sameAddress(allowed, address)));
    if (refused.length > 0) throw new EmailError("invalid_message", `${name} may not send to ${refused.join(", ")} (allowed: ${allowedTo.join(", ")})`);
  }
  if (config.allowedSenderAddresses !== undefined && senders !== undefined) {
    if (!config.allowedSenderAddresses.some((allowed) => sameAddress(allowed, senders))) {
      throw new EmailError("invalid_message", `${name} may not send from ${senders} (allowed: ${config.allowedSenderAddresses.join(", ")})`);
    }
  }
}

function addressOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { email?: unknown }).email === "string") return (value as { email: string }).email;
  return undefined;
}

function recipientsOf(message: RawEmailMessage | EmailMessageBuilder): string[] {
  const record = message as unknown as Record<string, unknown>;
  const list = (value: unknown): string[] =>
    (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(addressOf).filter((v): v is string => v !== undefined);
  return [...list(record.to), ...list(record.cc), ...list(record.bcc)];
}

function senderOf(message: RawEmailMessage | EmailMessageBuilder): string | undefined {
  return addressOf((message as unknown as Record<string, unknown>).from);
}

function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
