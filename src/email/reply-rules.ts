import { addressParser } from "postal-mime";
import { bareAddress } from "./address.ts";
import { EmailError } from "./errors.ts";
import { decodedHeaderValue, parseHeaderBlock } from "./headers.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { EmailHeader } from "./types.ts";

/**
 * Cloudflare's rules for `message.reply()` (Email Routing's, as Miniflare checks them): which
 * received messages may be answered, and what the answer must look like. Each error starts with
 * the text Cloudflare gives, then says what to change.
 */

/** What a reply is checked against: the received message's envelope and header fields. */
export interface RepliedEmail {
  readonly from: string;
  readonly to: string;
  readonly fields: readonly EmailHeader[];
}

/**
 * Throws unless the received message may be answered at all: it has a sender, was not sent
 * automatically (answering could start a mail loop), and its thread is one Email Routing answers.
 */
export function checkReplyable(email: RepliedEmail): void {
  if (email.from.trim() === "") {
    throw notReplyable("its envelope sender is null (MAIL FROM:<>): it is a bounce or another delivery notification, and there is no one to reply to");
  }
  const suppress = fieldValue(email.fields, "x-auto-response-suppress");
  if (suppress !== undefined && suppress.toLowerCase() !== "none") {
    throw notReplyable(`its sender asks for no automatic replies (X-Auto-Response-Suppress: ${suppress})`);
  }
  const submitted = fieldValue(email.fields, "auto-submitted");
  if (submitted !== undefined && firstWord(submitted) !== "no") {
    throw notReplyable(`it was sent automatically (Auto-Submitted: ${submitted}), and answering it could start a mail loop`);
  }
  const inReplyTo = fieldValue(email.fields, "in-reply-to");
  const references = fieldValue(email.fields, "references");
  if ((inReplyTo === undefined) !== (references === undefined)) {
    throw notReplyable("it has In-Reply-To without References, or References without In-Reply-To, a thread Email Routing does not answer");
  }
  const count = references === undefined ? 0 : references.split(/\s+/).filter(Boolean).length;
  if (count > EMAIL_LIMITS.maxReferences) {
    throw new EmailError("limit", `This email has ${count} References entries; replies stop at ${EMAIL_LIMITS.maxReferences} (maxReferences) to break mail loops`);
  }
}

/**
 * The reply as it goes out, or why it cannot: its From header is its envelope sender, it has a
 * Message-ID and no Received header, and it answers the received message (In-Reply-To is that
 * message's Message-ID, References lists it and the message's own References). A reply without
 * References gets one, as Cloudflare adds it: the received message's References, then its Message-ID.
 */
export function checkedReply(email: RepliedEmail, envelopeFrom: string, raw: Uint8Array): Uint8Array {
  const fields = parseHeaderBlock(raw);
  const headerFrom = fieldValue(fields, "from");
  const authors = headerFrom === undefined ? [] : mailboxesOf(decodedHeaderValue(headerFrom));
  if (authors.length !== 1 || authors[0]!.toLowerCase() !== bareAddress(envelopeFrom).toLowerCase()) {
    throw new EmailError(
      "invalid_message",
      `From: header does not match mail from: the reply's From header (${JSON.stringify(headerFrom ?? "")}) must name its envelope sender, ${bareAddress(envelopeFrom)}`,
    );
  }
  if (fieldValue(fields, "message-id") === undefined) {
    throw new EmailError("invalid_message", "invalid message-id: the reply needs a Message-ID header");
  }
  if (fields.some((field) => field.key === "received")) {
    throw new EmailError("invalid_message", "invalid headers set: a reply may not carry Received headers (mail servers add them)");
  }
  const original = fieldValue(email.fields, "message-id");
  // Nothing to thread to: a message without a Message-ID is answered as a new one.
  if (original === undefined) return raw;
  const inReplyTo = fieldValue(fields, "in-reply-to");
  if (inReplyTo === undefined) {
    throw new EmailError("invalid_message", `no In-Reply-To header found in reply message: set In-Reply-To: ${original} (the email's Message-ID)`);
  }
  if (idsOf(inReplyTo).join(" ") !== idsOf(original).join(" ")) {
    throw new EmailError("invalid_message", `In-Reply-To does not match original Message-ID: the reply answers ${inReplyTo}, the email is ${original}`);
  }
  const thread = [...idsOf(fieldValue(email.fields, "references") ?? ""), ...idsOf(original)];
  const references = fieldValue(fields, "references");
  if (references === undefined) return withReferences(raw, thread);
  const listed = new Set(idsOf(references));
  if (!thread.every((id) => listed.has(id))) {
    throw new EmailError("invalid_message", `provided References header is invalid: it must list the email's References and its Message-ID (${thread.join(" ")}), or be left out to be added`);
  }
  return raw;
}

function notReplyable(why: string): EmailError {
  return new EmailError("invalid_message", `Original email is not replyable: ${why}`);
}

/** The first non-empty value of a field, trimmed; undefined when absent or empty. */
function fieldValue(fields: readonly EmailHeader[], key: string): string | undefined {
  for (const field of fields) {
    if (field.key === key && field.value.trim() !== "") return field.value.trim();
  }
  return undefined;
}

/** `no (a comment)` → `no`: the keyword of an Auto-Submitted value (RFC 3834). */
function firstWord(value: string): string {
  return value.split(/[\s;(]/, 1)[0]!.toLowerCase();
}

/** The msg-ids of a Message-ID, In-Reply-To or References value (`<…>` each); a value without brackets is one id. */
function idsOf(value: string): string[] {
  const bracketed = value.match(/<[^<>]*>/g);
  if (bracketed) return bracketed;
  return value.trim() === "" ? [] : [value.trim()];
}

/** The addresses of a From header value (group members included). */
function mailboxesOf(value: string): string[] {
  const out: string[] = [];
  for (const entry of addressParser(value)) {
    if ("group" in entry && Array.isArray(entry.group)) out.push(...entry.group.map((member) => member.address));
    else if ("address" in entry && entry.address) out.push(entry.address);
  }
  return out;
}

/** The reply with a References field in front, one id per folded line (long threads stay within line limits). */
function withReferences(raw: Uint8Array, thread: readonly string[]): Uint8Array {
  const field = Buffer.from(`References: ${thread.join("\r\n ")}\r\n`, "latin1");
  return Buffer.concat([field, raw]);
}
