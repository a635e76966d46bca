import { EmailMessage, rawBytes } from "./email-message.ts";
import { EmailError } from "./errors.ts";
import { parseHeaderBlock, toHeaders } from "./headers.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { EmailHeader, EmailSendResult, ForwardableEmailMessage, RawEmailMessage, SendEmail } from "./types.ts";

/** Size of the chunks of `message.raw`. */
const STREAM_CHUNK_BYTES = 64 * 1024;

/** What an inbound message is made of: its envelope, bytes and parsed header fields. */
export interface InboundEmailInit {
  from: string;
  to: string;
  raw: Uint8Array;
  fields: readonly EmailHeader[];
  /** The outbound transport for forward and reply, resolved on first use. */
  outbound: () => SendEmail;
}

/**
 * A received message, handed to the worker's `email(message, env, ctx)`: Hearth's
 * `ForwardableEmailMessage`. `setReject` becomes the SMTP answer (or the webhook's); `forward` and
 * `reply` go out through the outbound transport.
 */
export class InboundEmail implements ForwardableEmailMessage {
  readonly from: string;
  readonly to: string;
  readonly headers: Headers;
  readonly rawSize: number;
  readonly #bytes: Uint8Array;
  readonly #fields: readonly EmailHeader[];
  readonly #outbound: () => SendEmail;
  #rejection: string | undefined;
  #replied = false;
  #answered = false;
  #sentOut = false;

  constructor(init: InboundEmailInit) {
    this.from = init.from;
    this.to = init.to;
    this.#bytes = init.raw;
    this.#fields = init.fields;
    this.headers = toHeaders(init.fields);
    this.rawSize = init.raw.byteLength;
    this.#outbound = init.outbound;
  }

  /**
   * The whole message; each read gets a fresh stream. Chunks are copied as they are pulled, so a
   * reader never holds a second copy of the whole message (nor can it change the bytes others see).
   */
  get raw(): ReadableStream<Uint8Array> {
    const bytes = this.#bytes;
    let offset = 0;
    return new ReadableStream({
      pull(controller) {
        if (offset >= bytes.byteLength) return controller.close();
        const end = Math.min(offset + STREAM_CHUNK_BYTES, bytes.byteLength);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
  }

  /** @internal The received bytes, shared: for Hearth's own readers, which copy what they hand out. */
  static bytesOf(message: ForwardableEmailMessage): Uint8Array | undefined {
    return #bytes in message ? message.#bytes : undefined;
  }

  /** Whether a reply or a forward has gone out: a retry of this delivery would send it again. */
  get sentOut(): boolean {
    return this.#sentOut;
  }

  /** The reason given to setReject, once the handler rejected the message. */
  get rejection(): string | undefined {
    return this.#rejection;
  }

  setReject(reason: string): void {
    if (this.#answered) {
      throw new EmailError("delivery_over", "setReject() came after the sender was answered; call it before the email handler returns");
    }
    const text = String(reason ?? "").replace(/[\r\n]+/g, " ").trim();
    this.#rejection = text === "" ? "Message rejected" : text;
  }

  /** The sender has been answered: rejecting is no longer possible. */
  markAnswered(): void {
    this.#answered = true;
  }

  async forward(rcptTo: string, headers?: Headers): Promise<EmailSendResult> {
    if (typeof rcptTo !== "string" || !/^[^\s<>@]+@[^\s<>@]+$/.test(rcptTo.trim())) {
      throw new EmailError("invalid_message", `forward() needs one address, got ${JSON.stringify(rcptTo)}`);
    }
    let prefix = "";
    for (const [name, value] of headers ?? []) {
      if (!/^x-/i.test(name)) throw new EmailError("invalid_message", `forward() may add only X-* headers, got "${name}"`);
      prefix += `${name}: ${headerValue(value)}\r\n`;
    }
    const raw = prefix === "" ? this.#bytes : Buffer.concat([Buffer.from(prefix, "utf8"), this.#bytes]);
    if (raw.byteLength > EMAIL_LIMITS.maxEmailBytes) {
      throw new EmailError("limit", `The forwarded message is larger than ${EMAIL_LIMITS.maxEmailBytes} bytes (maxEmailBytes)`);
    }
    // The envelope sender is the address that received the message: ours to send from.
    const result = await this.#outbound().send(new EmailMessage(this.to, rcptTo.trim(), raw));
    this.#sentOut = true;
    return result;
  }

  async reply(message: RawEmailMessage): Promise<EmailSendResult> {
    if (this.#replied) throw new EmailError("delivery_over", "This email was already replied to: reply() works once per message");
    if (typeof message?.to !== "string" || message.to.trim().toLowerCase() !== this.from.trim().toLowerCase()) {
      throw new EmailError("invalid_message", `A reply goes to the sender (${this.from}), not to ${JSON.stringify(message?.to)}`);
    }
    const references = this.#fields.find((h) => h.key === "references")?.value.split(/\s+/).filter(Boolean).length ?? 0;
    if (references > EMAIL_LIMITS.maxReferences) {
      throw new EmailError("limit", `This email has ${references} References entries; replies stop at ${EMAIL_LIMITS.maxReferences} (maxReferences) to break mail loops`);
    }
    // Cloudflare's rules for reply(): sent from the domain that received the message, and threaded.
    if (typeof message.from !== "string" || domainOf(message.from) !== domainOf(this.to)) {
      throw new EmailError("invalid_message", `A reply is sent from the domain that received the email (${domainOf(this.to)}), not from ${JSON.stringify(message?.from)}`);
    }
    this.#replied = true;
    try {
      const raw = await rawBytes(message.raw);
      if (this.#fields.some((h) => h.key === "message-id" && h.value.trim() !== "")) requireThreading(raw);
      const result = await this.#outbound().send(new EmailMessage(message.from, message.to, raw));
      this.#sentOut = true;
      return result;
    } catch (error) {
      this.#replied = false;
      throw error;
    }
  }
}

/** The domain of an address, lower case ("" when it has none). */
function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? "" : address.slice(at + 1).trim().replace(/>$/, "").toLowerCase();
}

/** A reply carries In-Reply-To and References (to the message it answers, when it has a Message-ID), as Cloudflare requires. */
function requireThreading(raw: Uint8Array): void {
  const fields = parseHeaderBlock(raw);
  const missing = ["in-reply-to", "references"].filter((name) => !fields.some((h) => h.key === name && h.value !== ""));
  if (missing.length > 0) {
    const names = missing.map((name) => (name === "in-reply-to" ? "In-Reply-To" : "References"));
    const what = names.length === 1 ? `a ${names[0]} header` : `${names.join(" and ")} headers`;
    throw new EmailError("invalid_message", `A reply needs ${what} naming the email it answers (its Message-ID)`);
  }
}

/** A header value on one line; non-ASCII text as an RFC 2047 encoded word. */
function headerValue(value: string): string {
  const line = value.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(line) ? line : `=?UTF-8?B?${Buffer.from(line, "utf8").toString("base64")}?=`;
}
