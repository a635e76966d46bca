import type { AddressInfo } from "node:net";
import { createTransport } from "nodemailer";
import type { SendMailOptions } from "nodemailer";
import PostalMime, { type Email } from "postal-mime";
import { SMTPServer } from "smtp-server";

/** A message the sink received: its envelope, bytes and parsed form. */
export interface SunkMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: Email;
  header(name: string): string | undefined;
}

/** An SMTP server on loopback that records what it receives: the outside world's mail servers. */
export interface MailSink {
  /** `smtp://127.0.0.1:<port>`, for HEARTH_SMTP_URL. */
  readonly url: string;
  readonly messages: SunkMail[];
  /** Resolves once `count` messages have arrived (at once if they already have). */
  waitFor(count: number): Promise<SunkMail[]>;
  close(): Promise<void>;
}

export async function startMailSink(): Promise<MailSink> {
  const messages: SunkMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    disabledCommands: ["AUTH", "STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.once("end", () => {
        const raw = Buffer.concat(chunks);
        PostalMime.parse(raw).then((parsed) => {
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
            header: (name) => parsed.headers.find((h) => h.key === name.toLowerCase())?.value,
          });
          for (const waiter of [...waiters]) waiter();
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor(count) {
      return new Promise((resolve) => {
        const check = () => {
          if (messages.length < count) return;
          waiters.delete(check);
          resolve(messages.slice(0, count));
        };
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The outcome of one SMTP submission: accepted, or the server's refusal. */
export type SendOutcome =
  | { ok: true; accepted: string[]; rejected: string[]; rejectedCodes: number[]; rejectedResponses: string[]; messageId: string }
  | { ok: false; responseCode: number | undefined; response: string; command: string | undefined };

/** Sends a message to an SMTP server the way any mail client does (nodemailer, plain SMTP). */
export async function sendMail(url: string, message: SendMailOptions): Promise<SendOutcome> {
  const transport = createTransport(url);
  try {
    const info = (await transport.sendMail(message)) as {
      accepted: string[];
      rejected: string[];
      rejectedErrors?: { responseCode?: number; response?: string }[];
      messageId: string;
    };
    return {
      ok: true,
      accepted: info.accepted.map(String),
      rejected: info.rejected.map(String),
      rejectedCodes: (info.rejectedErrors ?? []).map((e) => e.responseCode ?? 0),
      rejectedResponses: (info.rejectedErrors ?? []).map((e) => e.response ?? ""),
      messageId: info.messageId,
    };
  } catch (error) {
    const detail = error as { responseCode?: number; response?: string; command?: string; message: string };
    return { ok: false, responseCode: detail.responseCode, response: detail.response ?? detail.message, command: detail.command };
  } finally {
    transport.close();
  }
}

/** Where a message ended up after an MTA-like sender gave up or finished. */
export interface MtaResult {
  delivered: string[];
  refused: string[];
  /** SMTP transactions it took. */
  transactions: number;
}

/**
 * Sends a message to several recipients the way mail servers do: recipients deferred with a 4xx
 * (at RCPT TO, or the whole transaction at DATA) are sent the message again in a new transaction;
 * 5xx ones are given up. Stops after `maxTransactions`.
 */
export async function sendLikeAnMta(url: string, envelope: { from: string; to: string[] }, raw: string, maxTransactions = 10): Promise<MtaResult> {
  const result: MtaResult = { delivered: [], refused: [], transactions: 0 };
  let pending = [...envelope.to];
  while (pending.length > 0 && result.transactions < maxTransactions) {
    result.transactions++;
    const sent = await sendMail(url, { envelope: { from: envelope.from, to: pending }, raw });
    if (sent.ok) {
      result.delivered.push(...sent.accepted);
      const deferred = sent.rejected.filter((_, i) => (sent.rejectedCodes[i] ?? 500) < 500);
      result.refused.push(...sent.rejected.filter((address) => !deferred.includes(address)));
      pending = deferred;
    } else if ((sent.responseCode ?? 500) >= 500) {
      result.refused.push(...pending);
      pending = [];
    }
  }
  return result;
}
