import { EmailError } from "./errors.ts";
import { parseHeaderBlock } from "./headers.ts";
import { InboundEmail } from "./inbound-email.ts";
import { resolveOutbound } from "./outbound.ts";
import type { EmailExecutionContext, WorkerEmail } from "./types.ts";

/** One received message: the bytes and the envelope. */
export interface InboundMail {
  raw: Uint8Array;
  from: string;
  recipients: readonly string[];
}

/** How a delivery ended; the SMTP listener and the webhook turn it into their answers. */
export type DeliveryOutcome =
  | { kind: "accepted"; recipients: readonly string[] }
  /** The handler called setReject. */
  | { kind: "rejected"; recipient: string; reason: string }
  /** The handler threw; `permanent` when retrying cannot help (no agent for the address), else the sender retries. */
  | { kind: "failed"; recipient: string; error: unknown; permanent: boolean };

/**
 * Hands a received message to the worker's email handler, once per recipient, in order (each
 * sees its own `message.to`, as with Cloudflare). Stops at the first rejection or failure: the
 * message is then refused as a whole, and recipients handled before it keep their copy.
 */
export async function deliverInbound(
  mail: InboundMail,
  handler: WorkerEmail | undefined,
  env: Record<string, unknown>,
): Promise<DeliveryOutcome> {
  const first = mail.recipients[0] ?? "";
  if (!handler) {
    return { kind: "rejected", recipient: first, reason: "This server does not accept mail: its worker has no email handler" };
  }
  const fields = parseHeaderBlock(mail.raw);
  const outbound = () => resolveOutbound(env);
  for (const recipient of mail.recipients) {
    const message = new InboundEmail({ from: mail.from, to: recipient, raw: mail.raw, fields, outbound });
    try {
      await handler(message, env, executionContext);
    } catch (error) {
      message.markAnswered();
      return { kind: "failed", recipient, error, permanent: error instanceof EmailError && error.code === "unknown_agent" };
    }
    message.markAnswered();
    if (message.rejection !== undefined) return { kind: "rejected", recipient, reason: message.rejection };
  }
  return { kind: "accepted", recipients: mail.recipients };
}

const executionContext: EmailExecutionContext = {
  waitUntil: (promise) => void promise.catch((error: unknown) => console.error("[hearth] email waitUntil:", error)),
  passThroughOnException: () => {},
};
