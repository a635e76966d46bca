import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { deliverInbound, type DeliveryOutcome } from "./deliver.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { WorkerEmail } from "./types.ts";

export interface SmtpListenerOptions {
  /** The worker's `email(message, env, ctx)`. Without one, every recipient is refused (550). */
  handler: WorkerEmail | undefined;
  /** The `env` the handler receives (the host's: agent bindings and variables). */
  env: Record<string, unknown>;
  /** Default 2525; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** The name in the greeting. Default: the machine's host name. */
  serverName?: string;
  /** Largest message accepted, in bytes. Default 25 MiB (`maxEmailBytes`). */
  maxEmailBytes?: number;
  /** Recipients per message. Default 50 (`maxEmailRecipients`). */
  maxRecipients?: number;
  /** Clients connected at once. Default 100 (`maxSmtpClients`). */
  maxClients?: number;
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
 * threw (the sender retries later), 552 over `maxEmailBytes`, 452 past `maxEmailRecipients`.
 * @example
 * const smtp = await startSmtpListener({ handler: worker.email, env: host.env, port: 2525 });
 * console.log(smtp.url); // smtp://127.0.0.1:2525
 */
export async function startSmtpListener(options: SmtpListenerOptions): Promise<SmtpListener> {
  const maxBytes = options.maxEmailBytes ?? EMAIL_LIMITS.maxEmailBytes;
  const maxRecipients = options.maxRecipients ?? EMAIL_LIMITS.maxEmailRecipients;
  const hostname = options.hostname ?? "127.0.0.1";

  const server = new SMTPServer({
    ...(options.serverName ? { name: options.serverName } : {}),
    banner: "Hearth",
    size: maxBytes,
    maxClients: options.maxClients ?? EMAIL_LIMITS.maxSmtpClients,
    disabledCommands: ["AUTH", "STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 5_000,
    onRcptTo(address, session, callback) {
      if (!options.handler) return callback(smtpError(550, "This server does not accept mail: its worker has no email handler"));
      if (session.envelope.rcptTo.length >= maxRecipients) {
        return callback(smtpError(452, `Too many recipients: at most ${maxRecipients} per message (maxEmailRecipients); send the rest in another transaction`));
      }
      callback();
    },
    onData(stream, session, callback) {
      collect(stream, maxBytes).then(
        async (raw) => {
          if (!raw) return callback(smtpError(552, `Message too large: at most ${maxBytes} bytes (maxEmailBytes)`));
          const outcome = await deliverInbound(
            { raw, from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "", recipients: recipientsOf(session) },
            options.handler,
            options.env,
          );
          const error = answerFor(outcome);
          callback(error);
        },
        (error: unknown) => callback(smtpError(451, `Could not read the message: ${(error as Error).message}`)),
      );
    },
  });
  server.on("error", (error) => console.error("[hearth] smtp:", error));

  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 2525, hostname, () => {
      server.server.off("error", reject);
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

function recipientsOf(session: SMTPServerSession): string[] {
  return session.envelope.rcptTo.map((rcpt) => rcpt.address);
}

/** The message bytes, or undefined when it went over `maxBytes` (the rest is read and dropped). */
function collect(stream: SMTPServerDataStream, maxBytes: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) chunks.push(chunk);
    });
    stream.once("error", reject);
    stream.once("end", () => resolve(stream.sizeExceeded || size > maxBytes ? undefined : Buffer.concat(chunks)));
  });
}

function answerFor(outcome: DeliveryOutcome): SmtpError | null {
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
