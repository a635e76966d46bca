/**
 * An `smtp://` HEARTH_SMTP_URL with a password requires STARTTLS: a server that does not offer it
 * (or a network that strips it from the EHLO answer) never sees the password; `?requireTLS=false`
 * in the URL is the explicit way to send it in clear.
 */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { EmailError, SmtpEmailBinding } from "../../src/email/index.ts";

interface Login {
  user: string;
  secure: boolean;
}

let server: SMTPServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** An SMTP server on loopback that accepts any login and records how it arrived. */
async function startServer(options: SMTPServerOptions, logins: Login[]): Promise<number> {
  server = new SMTPServer({
    ...options,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, session, callback) {
      logins.push({ user: auth.username ?? "", secure: session.secure });
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.once("end", () => callback());
    },
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.server.address() as AddressInfo).port;
}

const message = { from: "bot@example.com", to: "ada@example.org", subject: "Hi", text: "Hello" };

describe("HEARTH_SMTP_URL with a password", () => {
  it("is refused by a server without STARTTLS, which never sees the password; ?requireTLS=false sends it in clear", async () => {
    const logins: Login[] = [];
    const port = await startServer({ disabledCommands: ["STARTTLS"] }, logins);
    const error = await new SmtpEmailBinding(`smtp://agent:hunter2@127.0.0.1:${port}`).send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmailError);
    expect(error).toMatchObject({ code: "send_failed" });
    expect((error as Error).message).toContain("STARTTLS is required and the password is not sent in clear");
    expect((error as Error).message).toContain("?requireTLS=false");
    expect(logins).toEqual([]);

    await new SmtpEmailBinding(`smtp://agent:hunter2@127.0.0.1:${port}?requireTLS=false`).send(message);
    expect(logins).toEqual([{ user: "agent", secure: false }]);
  });

  it("logs in after STARTTLS when the server offers it", async () => {
    const logins: Login[] = [];
    // smtp-server's own self-signed certificate: the URL accepts it, as nodemailer's URL options allow.
    const port = await startServer({}, logins);
    await new SmtpEmailBinding(`smtp://agent:hunter2@127.0.0.1:${port}?tls.rejectUnauthorized=false`).send(message);
    expect(logins).toEqual([{ user: "agent", secure: true }]);
  });

  it("is not needed without credentials: plain relays on a private network keep working", async () => {
    const logins: Login[] = [];
    const port = await startServer({ disabledCommands: ["STARTTLS", "AUTH"] }, logins);
    expect(await new SmtpEmailBinding(`smtp://127.0.0.1:${port}`).send(message)).toMatchObject({ messageId: expect.stringMatching(/^<.+>$/) });
  });
});
