import { EmailError } from "./errors.ts";
import { parseHeaderBlock } from "./headers.ts";
import { InboundEmail } from "./inbound-email.ts";
import { hostOutbound } from "./outbound.ts";
import { newExecutionContext } from "../gateway/serve.ts";
import type { EmailHeader, WorkerEmail } from "./types.ts";

/** One received message: its bytes, envelope sender and header fields (parsed once for all recipients). */
export interface ReceivedMail {
  readonly raw: Uint8Array;
  readonly from: string;
  readonly fields: readonly EmailHeader[];
}

/** A received message, its header block parsed. */
export function receivedMail(raw: Uint8Array, from: string): ReceivedMail {
  return { raw, from, fields: parseHeaderBlock(raw) };
}

/** How the delivery to one recipient ended; the SMTP listener and the webhook turn it into their answers. */
export type RecipientOutcome =
  | { kind: "accepted"; recipient: string }
  /** The handler called setReject (or there is no handler). */
  | { kind: "rejected"; recipient: string; reason: string }
  /** The handler threw; `permanent` when retrying cannot help (no agent for the address), else the sender retries. */
  | { kind: "failed"; recipient: string; error: unknown; permanent: boolean };

/** Whether an outcome is final: the same message to the same recipient must not be handled again. */
export function isFinal(outcome: RecipientOutcome): boolean {
  return outcome.kind !== "failed" || outcome.permanent;
}

/**
 * Hands a received message to the worker's email handler for one recipient (`message.to`, as with
 * Cloudflare). Each recipient is its own delivery, so that a failure for one never makes the
 * sender send the message again to another. Its `forward()` and `reply()` go out through the host's
 * own transport (`HEARTH_SMTP_URL`), never through the worker's `env.EMAIL`: on Cloudflare they belong
 * to Email Routing, and a `send_email` binding's address restrictions do not apply to them.
 */
export async function deliverTo(
  mail: ReceivedMail,
  recipient: string,
  handler: WorkerEmail | undefined,
  env: Record<string, unknown>,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<RecipientOutcome> {
  if (!handler) return { kind: "rejected", recipient, reason: "This server does not accept mail: its worker has no email handler" };
  const message = new InboundEmail({ from: mail.from, to: recipient, raw: mail.raw, fields: mail.fields, outbound: () => hostOutbound(env) });
  try {
    await handler(message, env, newExecutionContext(waitUntil ? { track: waitUntil } : {}));
  } catch (error) {
    message.markAnswered();
    const permanent = error instanceof EmailError && error.code === "unknown_agent";
    if (!permanent && message.sentOut) {
      console.warn(`[hearth] the email handler for ${recipient} threw after a reply or forward went out; the retry may send it again`);
    }
    return { kind: "failed", recipient, error, permanent };
  }
  message.markAnswered();
  if (message.rejection !== undefined) return { kind: "rejected", recipient, reason: message.rejection };
  return { kind: "accepted", recipient };
}


