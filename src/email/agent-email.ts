import { decodeWords } from "postal-mime";
import { EmailError } from "./errors.ts";
import { resolveOutbound } from "./outbound.ts";
import { AGENT_HEADERS, signAgentHeaders } from "./signing.ts";
import type { AgentEmail, EmailSendResult, ReplyToEmailOptions, SendEmailOptions } from "./types.ts";

/** Who is writing: the agent's class (kebab-case, as routing headers carry it) and instance name. */
export interface AgentIdentity {
  agentName: string;
  agentId: string;
}

/**
 * `this.replyToEmail(email, options)`: a reply to the sender, from the address the message was
 * sent to, threaded (In-Reply-To, References), with the agent's routing headers — signed when a
 * secret is given — sent through `email.reply`.
 */
export async function replyToEmail(identity: AgentIdentity, email: AgentEmail, options: ReplyToEmailOptions): Promise<void> {
  if (typeof options !== "object" || options === null || typeof options.body !== "string") {
    throw new EmailError("invalid_message", "replyToEmail(email, { fromName, body }) needs a body string");
  }
  if (email._secureRouted && options.secret === undefined) {
    throw new EmailError(
      "invalid_message",
      "This email was routed by createSecureReplyEmailResolver: pass a secret to replyToEmail() so the reply is signed, or secret: null to send it unsigned",
    );
  }
  const original = email.headers.get("message-id")?.trim();
  const references = [...(email.headers.get("references")?.split(/\s+/).filter(Boolean) ?? []), ...(original ? [original] : [])];
  const html = /html/i.test(options.contentType ?? "");
  // Loaded on the first reply: most servers never answer mail, and nodemailer is a large load at start.
  const { default: MailComposer } = await import("nodemailer/lib/mail-composer");
  const composer = new MailComposer({
    from: { name: options.fromName ?? "", address: email.to },
    to: email.from,
    subject: options.subject ?? replySubject(email.headers.get("subject")),
    ...(original ? { inReplyTo: original, references } : {}),
    headers: { ...(await routingHeaders(identity, options.secret ?? undefined)), ...options.headers },
    ...(html ? { html: options.body } : { text: options.body }),
  });
  const raw = await composer.compile().build();
  await email.reply({ from: email.to, to: email.from, raw: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) });
}

/**
 * `this.sendEmail(options)`: a new message with the agent's routing headers (signed when a secret
 * is given), through `options.binding`, else `env.EMAIL`, else `HEARTH_SMTP_URL`.
 */
export async function sendAgentEmail(identity: AgentIdentity, env: Record<string, unknown>, options: SendEmailOptions): Promise<EmailSendResult> {
  if (typeof options !== "object" || options === null) throw new EmailError("invalid_message", "sendEmail({ to, from, subject, text | html }) needs options");
  const { binding, secret, inReplyTo, headers, ...message } = options;
  const transport = binding ?? resolveOutbound(env);
  return transport.send({
    ...message,
    headers: {
      ...headers,
      ...(await routingHeaders(identity, secret)),
      // References with In-Reply-To (RFC 5322 §3.6.4): a reply to this message through Email Routing's
      // rules needs both, and a thread's readers group by References.
      ...(inReplyTo ? { "In-Reply-To": inReplyTo, ...(hasHeader(headers, "references") ? {} : { References: inReplyTo }) } : {}),
    },
  });
}

function hasHeader(headers: Record<string, string> | undefined, name: string): boolean {
  return headers !== undefined && Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** X-Agent-Name and X-Agent-ID, plus the signature and its time when there is a secret. */
async function routingHeaders(identity: AgentIdentity, secret: string | undefined): Promise<Record<string, string>> {
  if (typeof secret === "string") return signAgentHeaders(secret, identity.agentName, identity.agentId);
  return { [AGENT_HEADERS.name]: identity.agentName, [AGENT_HEADERS.id]: identity.agentId };
}

/** `Re: <subject>`, without stacking prefixes; the subject's encoded words decoded. */
function replySubject(subject: string | null): string {
  const text = subject ? decodeWords(subject).trim() : "";
  if (text === "") return "Re: (no subject)";
  return /^re:/i.test(text) ? text : `Re: ${text}`;
}
