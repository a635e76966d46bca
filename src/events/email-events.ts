/** The payloads of the email events, built as the SDK builds them. */

interface EmailLike {
  readonly from: string;
  readonly to: string;
  readonly headers: { get(name: string): string | null };
}

/** `email:receive`: sender, recipient and subject of an inbound message. */
export function emailReceived(email: EmailLike): { from: string; to: string; subject?: string } {
  return { from: email.from, to: email.to, subject: email.headers.get("subject") ?? undefined };
}

/** `email:reply`: from the address the message came to, back to its sender; `Re: <subject>` unless one was given. */
export function emailReplied(email: EmailLike, subject: string | undefined): { from: string; to: string; subject?: string } {
  const original = email.headers.get("subject");
  return { from: email.to, to: email.from, subject: subject ?? (original ? `Re: ${original}` : undefined) };
}

/** `email:send`: the sender's address (of a `{ email, name }` too), recipients and subject. */
export function emailSent(options: { from: string | { email: string }; to: string | string[]; subject: string }): {
  from: string;
  to: string | string[];
  subject: string;
} {
  return { from: typeof options.from === "string" ? options.from : options.from.email, to: options.to, subject: options.subject };
}
