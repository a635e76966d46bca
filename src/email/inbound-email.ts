import { bareAddress } from "./address.ts";
import { EmailMessage, rawBytes } from "./email-message.ts";
import { EmailError } from "./errors.ts";
import { toHeaders } from "./headers.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import { checkedReply, checkReplyable } from "./reply-rules.ts";
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
  #bytes: Uint8Array;
  readonly #fields: readonly EmailHeader[];
  readonly #outbound: () => SendEmail;
  #rejection: string | undefined;
  #replied = false;
  #answered = false;
  #sentOut = false;
  #ended = false;

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
    let offset = 0;
    return new ReadableStream({
      // Reads the bytes the message holds when pulled: none once its delivery is over.
      pull: (controller) => {
        if (this.#ended) return controller.error(deliveryOver("read the message"));
        const bytes = this.#bytes;
        if (offset >= bytes.byteLength) return controller.close();
        const end = Math.min(offset + STREAM_CHUNK_BYTES, bytes.byteLength);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
  }

  /** @internal The received bytes, shared: for Hearth's own readers, which copy what they hand out. */
  static bytesOf(message: ForwardableEmailMessage): Uint8Array | undefined {
    return #bytes in message && !message.#ended ? message.#bytes : undefined;
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

  /**
   * The delivery is over before the handler finished (it ran past its deadline): the message lets
   * go of its bytes, and reading, forwarding or replying throws "delivery_over".
   */
  end(): void {
    this.#answered = true;
    this.#ended = true;
    this.#bytes = new Uint8Array(0);
  }

  async forward(rcptTo: string, headers?: Headers): Promise<EmailSendResult> {
    if (this.#ended) throw deliveryOver("forward");
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
    if (this.#ended) throw deliveryOver("reply");
    if (this.#replied) throw new EmailError("delivery_over", "This email was already replied to: reply() works once per message");
    const received = { from: this.from, to: this.to, fields: this.#fields };
    checkReplyable(received);
    if (typeof message?.to !== "string" || bareAddress(message.to).toLowerCase() !== this.from.trim().toLowerCase()) {
      throw new EmailError("invalid_message", `A reply goes to the sender (${this.from}), not to ${JSON.stringify(message?.to)}`);
    }
    // Cloudflare's rules for reply(): sent from the domain that received the message, and threaded.
    if (typeof message.from !== "string" || domainOf(message.from) !== domainOf(this.to)) {
      throw new EmailError("invalid_message", `A reply is sent from the domain that received the email (${domainOf(this.to)}), not from ${JSON.stringify(message?.from)}`);
    }
    this.#replied = true;
    try {
      const raw = checkedReply(received, message.from, await rawBytes(message.raw));
      const result = await this.#outbound().send(new EmailMessage(bareAddress(message.from), bareAddress(message.to), raw));
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

function deliveryOver(action: string): EmailError {
  return new EmailError("delivery_over", `Cannot ${action}: the delivery of this email is over (its handler ran past smtpDeliveryTimeoutSeconds)`);
}

/** A header value on one line; non-ASCII text as an RFC 2047 encoded word. */
function headerValue(value: string): string {
  const line = value.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(line) ? line : `=?UTF-8?B?${Buffer.from(line, "utf8").toString("base64")}?=`;
}
