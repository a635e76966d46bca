import { clearTimeout, setTimeout } from "node:timers";
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

/**
 * A received message, its header block parsed.
 * @throws {EmailError} "limit" past `maxHeaderBytes` or `maxHeaderFields`.
 */
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

export interface DeliveryOptions {
  /** Where the handler's `ctx.waitUntil` work goes (a runtime that waits for it at shutdown); default: logged only. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * How long the handler may run, in milliseconds. Past it the delivery fails (temporarily: the
   * sender retries) and the message lets go of its bytes, so a handler that never finishes holds
   * neither the sender's answer nor the memory it was counted against. Default: no limit.
   */
  timeoutMs?: number;
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
  options: DeliveryOptions = {},
): Promise<RecipientOutcome> {
  if (!handler) return { kind: "rejected", recipient, reason: "This server does not accept mail: its worker has no email handler" };
  const message = new InboundEmail({ from: mail.from, to: recipient, raw: mail.raw, fields: mail.fields, outbound: () => hostOutbound(env) });
  const { waitUntil, timeoutMs } = options;
  try {
    const handled = (async () => handler(message, env, newExecutionContext(waitUntil ? { track: waitUntil } : {})))();
    if ((await withinDeadline(handled, timeoutMs)) === "overdue") {
      message.end();
      handled.catch((error: unknown) => console.warn(`[hearth] the email handler for ${recipient} failed after its delivery timed out:`, error));
      const seconds = (timeoutMs ?? 0) / 1000;
      const error = new EmailError("limit", `The email handler for ${recipient} did not finish within ${seconds} s (smtpDeliveryTimeoutSeconds); the sender retries later`);
      return { kind: "failed", recipient, error, permanent: false };
    }
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

/** Waits for `work`, or until `timeoutMs` has passed ("overdue"); throws what `work` throws. */
async function withinDeadline(work: Promise<unknown>, timeoutMs: number | undefined): Promise<"done" | "overdue"> {
  if (timeoutMs === undefined) {
    await work;
    return "done";
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = new Promise<"overdue">((resolve) => {
    // Real timers (whatever a test fakes), unref'd: a handler that hangs at shutdown does not hold the process.
    timer = setTimeout(() => resolve("overdue"), timeoutMs).unref();
  });
  try {
    return await Promise.race([work.then(() => "done" as const), overdue]);
  } finally {
    clearTimeout(timer);
  }
}
