/**
 * `send_email` bindings: mail goes out through HEARTH_SMTP_URL (a real SMTP server on loopback),
 * restricted to the config's `destination_address`, `allowed_destination_addresses` and
 * `allowed_sender_addresses`; a refused message reaches no server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmailMessage } from "../../src/compat/cloudflare-email.ts";
import type { SendEmailConfig } from "../../src/config/types.ts";
import { EmailError } from "../../src/email/errors.ts";
import type { EmailMessageBuilder } from "../../src/email/types.ts";
import { sendEmailBinding } from "../../src/worker/send-email.ts";
import { startMailSink, type MailSink } from "../email/helpers.ts";
import { projectConfig } from "./helpers.ts";

let sink: MailSink;
beforeAll(async () => {
  sink = await startMailSink();
});
afterAll(async () => {
  await sink.close();
});

const project = projectConfig({ path: "/project/wrangler.jsonc" });
const binding = (config: Partial<SendEmailConfig>, smtpUrl: string | undefined = sink.url) =>
  sendEmailBinding({ name: "EMAIL", ...config }, smtpUrl, project);
const message = (fields: Partial<EmailMessageBuilder> = {}): EmailMessageBuilder => ({
  from: "bot@example.com",
  to: "ada@example.com",
  subject: "Hello",
  text: "Hi there",
  ...fields,
});

/** The EmailError `promise` rejects with; fails the test when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<EmailError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EmailError);
  return error as EmailError;
}

/** Sends through `send` and returns the envelope the server received. */
async function delivered(send: () => Promise<unknown>): Promise<{ from: string; to: string[] }> {
  const before = sink.messages.length;
  await send();
  const mail = (await sink.waitFor(before + 1))[before]!;
  return { from: mail.from, to: mail.to };
}

describe("a send_email binding", () => {
  it("without HEARTH_SMTP_URL, says how to set it", async () => {
    for (const url of [undefined, ""]) {
      const error = await refusal(sendEmailBinding({ name: "EMAIL" }, url, project).send(message()));
      expect(error.code).toBe("not_configured");
      expect(error.message).toBe(
        "env.EMAIL (send_email in /project/wrangler.jsonc) has no mail server: set HEARTH_SMTP_URL=smtp://user:pass@host:587 (or smtps://…:465)",
      );
    }
  });

  it("without restrictions, delivers to any address", async () => {
    expect(await delivered(() => binding({}).send(message({ to: ["ada@example.com", { email: "bob@example.org", name: "Bob" }] })))).toEqual({
      from: "bot@example.com",
      to: ["ada@example.com", "bob@example.org"],
    });
  });

  it("with destination_address, sends there only (case and spaces aside)", async () => {
    const email = binding({ destinationAddress: "ops@example.com" });
    expect((await delivered(() => email.send(message({ to: " OPS@example.com " })))).to).toEqual(["OPS@example.com"]);
    const before = sink.messages.length;
    const error = await refusal(email.send(message({ to: "ops@example.com", cc: "eve@example.com" })));
    expect(error.code).toBe("invalid_message");
    expect(error.message).toBe("env.EMAIL (send_email in /project/wrangler.jsonc) may not send to eve@example.com (allowed: ops@example.com)");
    expect(sink.messages.length).toBe(before);
  });

  it("with destination_address, sends a message without a recipient there, as Cloudflare does", async () => {
    const email = binding({ destinationAddress: "ops@example.com" });
    const raw = "From: bot@example.com\r\nTo: ops@example.com\r\nSubject: Raw\r\nMessage-ID: <raw-2@example.com>\r\n\r\nBody\r\n";
    const nobody = null as unknown as string;
    expect(await delivered(() => email.send(new EmailMessage("bot@example.com", nobody, raw)))).toEqual({ from: "bot@example.com", to: ["ops@example.com"] });
    const noTo = { from: "bot@example.com", subject: "Built", text: "x" } as EmailMessageBuilder;
    expect(await delivered(() => email.send(noTo))).toEqual({ from: "bot@example.com", to: ["ops@example.com"] });
    expect(await delivered(() => email.send({ ...noTo, to: undefined as unknown as string }))).toEqual({ from: "bot@example.com", to: ["ops@example.com"] });
  });

  it("refuses From, To, Cc, Bcc, Subject and Reply-To in headers, which have fields of their own (E_HEADER_USE_API_FIELD); nothing is sent", async () => {
    const email = binding({ allowedDestinationAddresses: ["ada@example.com"] });
    const before = sink.messages.length;
    const cases: Array<[Record<string, string>, string]> = [
      [{ Cc: "eve@example.com" }, "Header 'Cc' must be set via the 'cc' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
      [{ bcc: "eve@example.com" }, "Header 'bcc' must be set via the 'bcc' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
      [{ From: "ceo@example.com" }, "Header 'From' must be set via the 'from' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
      [{ To: "eve@example.com" }, "Header 'To' must be set via the 'to' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
      [{ Subject: "Other" }, "Header 'Subject' must be set via the 'subject' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
      [{ "Reply-To": "eve@example.com" }, "Header 'Reply-To' must be set via the 'replyTo' field, not the 'headers' object (E_HEADER_USE_API_FIELD)"],
    ];
    for (const [headers, expected] of cases) {
      const error = await refusal(email.send(message({ headers })));
      expect(error.code).toBe("invalid_message");
      expect(error.message).toBe(expected);
    }
    expect(sink.messages.length).toBe(before);
    const threaded = await delivered(() => email.send(message({ headers: { "In-Reply-To": "<m1@example.com>", "X-Ticket": "42" } })));
    expect(threaded.to).toEqual(["ada@example.com"]);
  });

  it("with allowed_destination_addresses, checks to, cc and bcc", async () => {
    const email = binding({ allowedDestinationAddresses: ["ada@example.com", "bob@example.com"] });
    const { to } = await delivered(() => email.send(message({ to: "ada@example.com", bcc: [{ email: "Bob@Example.com" }] })));
    expect(to.map((address) => address.toLowerCase())).toEqual(["ada@example.com", "bob@example.com"]);
    const error = await refusal(email.send(message({ to: ["ada@example.com", "mallory@example.com"], bcc: "trudy@example.com" })));
    expect(error.message).toBe(
      "env.EMAIL (send_email in /project/wrangler.jsonc) may not send to mallory@example.com, trudy@example.com (allowed: ada@example.com, bob@example.com)",
    );
  });

  it("with allowed_sender_addresses, checks the sender, given as a string or an address object", async () => {
    const email = binding({ allowedSenderAddresses: ["bot@example.com"] });
    expect((await delivered(() => email.send(message({ from: { email: "BOT@example.com", name: "Bot" } })))).from).toBe("BOT@example.com");
    const error = await refusal(email.send(message({ from: "intruder@example.com" })));
    expect(error.message).toBe("env.EMAIL (send_email in /project/wrangler.jsonc) may not send from intruder@example.com (allowed: bot@example.com)");
  });

  it("checks the envelope of a raw EmailMessage from cloudflare:email", async () => {
    const raw = "From: bot@example.com\r\nTo: ops@example.com\r\nSubject: Raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\nBody\r\n";
    const email = binding({ destinationAddress: "ops@example.com", allowedSenderAddresses: ["bot@example.com"] });
    expect(await delivered(() => email.send(new EmailMessage("bot@example.com", "ops@example.com", raw)))).toEqual({
      from: "bot@example.com",
      to: ["ops@example.com"],
    });
    const refused = await refusal(email.send(new EmailMessage("bot@example.com", "eve@example.com", raw)));
    expect(refused.message).toBe("env.EMAIL (send_email in /project/wrangler.jsonc) may not send to eve@example.com (allowed: ops@example.com)");
  });
});
