import type { AddressInfo } from "node:net";
import type { SMTPServerDataStream } from "smtp-server";
import { ByteBudget } from "./byte-budget.ts";
import { deliverTo, receivedMail, type ReceivedMail, type RecipientOutcome } from "./deliver.ts";
import { EmailError } from "./errors.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { WorkerEmail } from "./types.ts";

export interface SmtpListenerOptions {
  /** The worker's `email(message, env, ctx)`. Without one, every recipient is refused (550). */
  handler: WorkerEmail | undefined;
  /** The `env` the handler receives (the host's: agent bindings and variables). */
  env: Record<string, unknown>;
  /** Where the handler's `ctx.waitUntil` work goes (a runtime that waits for it at shutdown); default: logged only. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Default 2525; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** The name in the greeting. Default: the machine's host name. */
  serverName?: string;
  /** Largest message accepted, in bytes. Default 25 MiB (`maxEmailBytes`). */
  maxEmailBytes?: number;
  /** Clients connected at once. Default 100 (`maxSmtpClients`). */
  maxClients?: number;
  /** Bytes of messages held in memory at once, all clients together. Default 100 MiB (`maxSmtpInFlightBytes`). */
  maxInFlightBytes?: number;
  /**
   * How long a delivery may take, in milliseconds: past it the sender gets 451 (it retries later) and
   * the message's bytes go back to `maxInFlightBytes`. Default 5 minutes (`smtpDeliveryTimeoutSeconds`).
   */
  deliveryTimeoutMs?: number;
}

export interface SmtpListener {
  /** e.g. `smtp://127.0.0.1:2525` */
  readonly url: string;
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting; open sessions get up to 5 s to finish. */
  close(): Promise<void>;
}

type SmtpError = Error & { responseCode: number };

function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * Receives mail over SMTP (plain, no AUTH: an inbound MX, or behind one) and hands each message
 * to the worker's email handler as a `ForwardableEmailMessage`, answering the sender with what
 * happened: 250 accepted, 550 when the handler called `setReject` (with its reason), 451 when it
 * threw or did not finish within `deliveryTimeoutMs` (the sender retries later), 552 over
 * `maxEmailBytes`, `552 5.3.4` over `maxHeaderBytes` / `maxHeaderFields`. One recipient per transaction: a
 * second RCPT TO gets 452 (4.5.3) and the sender sends it the message in a new transaction, so a
 * failure for one recipient never makes the sender repeat the message to another. Messages held
 * at once are capped by `maxInFlightBytes` (452, 4.3.1: the sender retries later).
 * @example
 * const smtp = await startSmtpListener({ handler: worker.email, env: host.env, port: 2525 });
 * console.log(smtp.url); // smtp://127.0.0.1:2525
 */
export async function startSmtpListener(options: SmtpListenerOptions): Promise<SmtpListener> {
  const maxBytes = options.maxEmailBytes ?? EMAIL_LIMITS.maxEmailBytes;
  const budget = new ByteBudget(options.maxInFlightBytes ?? EMAIL_LIMITS.maxSmtpInFlightBytes);
  if (budget.limit < maxBytes) {
    // Else a message of the largest size would be refused as "try again later" forever.
    throw new RangeError(`startSmtpListener: maxInFlightBytes (${budget.limit}) must be at least maxEmailBytes (${maxBytes})`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? EMAIL_LIMITS.smtpDeliveryTimeoutSeconds * 1000;
  if (!Number.isFinite(deliveryTimeoutMs) || deliveryTimeoutMs <= 0) {
    throw new RangeError(`startSmtpListener: deliveryTimeoutMs must be a number of milliseconds > 0, got ${deliveryTimeoutMs}`);
  }

  // Loaded only when a listener starts: smtp-server (and the nodemailer it uses) is a large load.
  const { SMTPServer } = await import("smtp-server");
  const server = new SMTPServer({
    ...(options.serverName ? { name: options.serverName } : {}),
    banner: "Hearth",
    size: maxBytes,
    maxClients: options.maxClients ?? EMAIL_LIMITS.maxSmtpClients,
    disabledCommands: ["AUTH", "STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 5_000,
    onMailFrom(address, _session, callback) {
      // A declared size that cannot fit now is refused before the client sends the bytes.
      const declared = address.args ? Number(address.args.SIZE) : Number.NaN;
      if (declared > budget.available && declared <= maxBytes) return callback(busy());
      callback();
    },
    onRcptTo(address, session, callback) {
      if (!options.handler) return callback(smtpError(550, "This server does not accept mail: its worker has no email handler"));
      const taken = session.envelope.rcptTo[0];
      if (taken && taken.address.toLowerCase() !== address.address.toLowerCase()) {
        return callback(smtpError(452, "4.5.3 Too many recipients: one per transaction here; send the message to the others in a new transaction"));
      }
      callback();
    },
    onData(stream, session, callback) {
      collect(stream, maxBytes, budget).then(
        async (received) => {
          if (received === "too_large") return callback(smtpError(552, `Message too large: at most ${maxBytes} bytes (maxEmailBytes)`));
          if (received === "over_budget") return callback(busy());
          try {
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
            const mail = parsed(received, from);
            if (mail instanceof Error) return callback(mail);
            // One recipient per transaction (onRcptTo): its outcome is the transaction's answer.
            const recipient = session.envelope.rcptTo[0]?.address ?? "";
            const delivery = { ...(options.waitUntil ? { waitUntil: options.waitUntil } : {}), timeoutMs: deliveryTimeoutMs };
            callback(answerFor(await deliverTo(mail, recipient, options.handler, options.env, delivery)));
          } finally {
            budget.give(received.byteLength);
          }
        },
        (error: unknown) => callback(smtpError(451, `Could not read the message: ${(error as Error).message}`)),
      );
    },
  });
  // A failure to listen (a taken port) rejects below and is reported once, without a stack trace.
  let listening = false;
  server.on("error", (error) => {
    if (listening) console.error("[hearth] smtp:", error);
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 2525, hostname, () => {
      server.server.off("error", reject);
      listening = true;
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `smtp://${shown}:${port}`,
    port,
    hostname,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The message with its header block parsed, or the 552 for a header block over its limits. */
function parsed(raw: Uint8Array, from: string): ReceivedMail | SmtpError {
  try {
    return receivedMail(raw, from);
  } catch (error) {
    if (error instanceof EmailError && error.code === "limit") return smtpError(552, `5.3.4 ${error.message}`);
    throw error;
  }
}

function busy(): SmtpError {
  return smtpError(452, "4.3.1 Insufficient system storage: too much mail is being received at once (maxSmtpInFlightBytes); try again later");
}

/**
 * The message bytes, taken from `budget` as they arrive (the caller gives them back), or why
 * not: over `maxBytes`, or over what the budget has left. Either way the rest is read and dropped.
 */
function collect(stream: SMTPServerDataStream, maxBytes: number, budget: ByteBudget): Promise<Uint8Array | "too_large" | "over_budget"> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let taken = 0;
    let refused: "too_large" | "over_budget" | undefined;
    let settled = false;
    const drop = (reason: "too_large" | "over_budget") => {
      refused = reason;
      chunks = [];
      budget.give(taken);
      taken = 0;
    };
    stream.on("data", (chunk: Buffer) => {
      if (refused) return;
      if (taken + chunk.byteLength > maxBytes) return drop("too_large");
      if (!budget.tryTake(chunk.byteLength)) return drop("over_budget");
      taken += chunk.byteLength;
      chunks.push(chunk);
    });
    stream.once("end", () => {
      settled = true;
      if (stream.sizeExceeded && !refused) drop("too_large");
      if (refused) return resolve(refused);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, taken));
    });
    // A client gone mid-message: what it sent is given back.
    const abandon = (error?: Error) => {
      if (settled) return;
      settled = true;
      drop(refused ?? "too_large");
      reject(error ?? new Error("The connection closed before the message was received in full"));
    };
    stream.once("error", abandon);
    stream.once("close", () => abandon());
  });
}

function answerFor(outcome: RecipientOutcome): SmtpError | null {
  switch (outcome.kind) {
    case "accepted":
      return null;
    case "rejected":
      return smtpError(550, outcome.reason);
    case "failed":
      if (outcome.permanent) {
        console.warn(`[hearth] refused the email for ${outcome.recipient}: ${(outcome.error as Error).message}`);
        return smtpError(550, `No mailbox for ${outcome.recipient}`);
      }
      console.error(`[hearth] the email handler failed for ${outcome.recipient}; the sender will retry:`, outcome.error);
      return smtpError(451, "Temporary failure while delivering the message; try again later");
  }
}
