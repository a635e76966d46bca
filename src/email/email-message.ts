import { readStreamBytesUpTo } from "../gateway/bounded-body.ts";
import { EmailError } from "./errors.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { RawEmailMessage } from "./types.ts";

/**
 * A complete message and its envelope, to send with a `send_email` binding or to pass to
 * `message.reply()`: the class Cloudflare offers as `import { EmailMessage } from "cloudflare:email"`.
 * @example
 * await message.reply(new EmailMessage("support@example.com", message.from, rawMime));
 */
export class EmailMessage implements RawEmailMessage {
  readonly from: string;
  readonly to: string;
  readonly raw: string | Uint8Array | ReadableStream<Uint8Array>;

  constructor(from: string, to: string, raw: string | Uint8Array | ReadableStream<Uint8Array>) {
    this.from = from;
    this.to = to;
    this.raw = raw;
  }
}

/** Whether `value` is a raw message (as opposed to a message builder). */
export function isRawEmailMessage(value: unknown): value is RawEmailMessage {
  if (typeof value !== "object" || value === null) return false;
  const raw = (value as { raw?: unknown }).raw;
  return typeof raw === "string" || raw instanceof Uint8Array || raw instanceof ReadableStream;
}

/** The bytes of a raw message, refused past `maxBytes` (the rest of a stream is not read). */
export async function rawBytes(raw: RawEmailMessage["raw"], maxBytes: number = EMAIL_LIMITS.maxEmailBytes): Promise<Uint8Array> {
  const bytes = raw instanceof ReadableStream ? await readStreamBytesUpTo(raw, maxBytes) : typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
  if (bytes === undefined || bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

/** The error for a message over the size limit. */
export function tooLarge(maxBytes: number): EmailError {
  return new EmailError("limit", `The message is larger than ${maxBytes} bytes (maxEmailBytes)`);
}
