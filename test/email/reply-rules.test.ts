/**
 * reply() follows Cloudflare's rules (Email Routing's, as Miniflare checks them): once, to the
 * sender, from the domain that received the email with a From header naming that sender, threaded
 * with In-Reply-To (References is added when missing), and never to automatic mail or a bounce.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createAddressBasedEmailResolver, routeAgentEmail, type AgentEmail } from "../../src/email/index.ts";
import { deliverTo, receivedMail } from "../../src/email/deliver.ts";
import { EmailMessage } from "../../src/email/email-message.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startMailSink, type MailSink } from "./helpers.ts";

const outcomes: string[] = [];

/** A reply as AgentEmail.reply takes it (Cloudflare's agents pass { from, to, raw }); From header and Message-ID unless given. */
function reply(from: string, headers: string, fromHeader = from): { from: string; to: string; raw: string } {
  const messageId = /^message-id:/im.test(headers) ? "" : `Message-ID: <r${outcomes.length}@example.com>\r\n`;
  return { from, to: "ada@example.org", raw: `From: ${fromHeader}\r\nTo: ada@example.org\r\nSubject: Re: hi\r\n${messageId}${headers}\r\nok\r\n` };
}

const THREADED = "In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\n";

class Desk extends Agent {
  async onEmail(email: AgentEmail): Promise<void> {
    const attempts: Array<[string, ReturnType<typeof reply>]> = [
      ["another domain", reply("ceo@bank.example", THREADED)],
      ["a From header of someone else", reply("desk@example.com", THREADED, "CEO <ceo@bank.example>")],
      ["no Message-ID", reply("desk@example.com", `${THREADED}Message-ID:\r\n`)],
      ["a Received header", reply("desk@example.com", `${THREADED}Received: from somewhere\r\n`)],
      ["no threading", reply("desk@example.com", "")],
      ["In-Reply-To another message", reply("desk@example.com", "In-Reply-To: <other@example.org>\r\nReferences: <other@example.org>\r\n")],
      ["References without the Message-ID", reply("desk@example.com", "In-Reply-To: <m1@example.org>\r\nReferences: <other@example.org>\r\n")],
      ["threaded, from a sibling address", reply("Help <help@Example.COM>", THREADED)],
      ["a second reply", reply("desk@example.com", THREADED)],
    ];
    for (const [what, message] of attempts) {
      try {
        await email.reply(message);
        outcomes.push(`${what}: sent`);
      } catch (error) {
        outcomes.push(`${what}: ${(error as Error).message}`);
      }
    }
  }
}

/** Answers with replyToEmail, whatever the message's Message-ID. */
class Helper extends Agent {
  async onEmail(email: AgentEmail): Promise<void> {
    try {
      await this.replyToEmail(email, { fromName: "Helper", body: "On it" });
      outcomes.push("sent");
    } catch (error) {
      outcomes.push((error as Error).message);
    }
  }
}

let t: TestEnv | undefined;
let sink: MailSink;
beforeAll(async () => {
  sink = await startMailSink();
});
afterAll(async () => {
  await sink.close();
});
afterEach(async () => {
  outcomes.length = 0;
  await t?.close();
  t = undefined;
});

/** Delivers `raw` (envelope sender `from`) to desk@example.com, whose handler replies with what `answer` builds; "sent" or the error. */
async function replyTo(raw: string, from: string, answer: (message: { from: string }) => EmailMessage): Promise<string> {
  let result = "the handler did not run";
  await deliverTo(receivedMail(Buffer.from(raw), from), "desk@example.com", async (message) => {
    try {
      await message.reply(answer(message));
      result = "sent";
    } catch (error) {
      result = (error as Error).message;
    }
  }, { HEARTH_SMTP_URL: sink.url });
  return result;
}

describe("reply()", () => {
  it("is sent only from the receiving domain, by the From it claims, threaded to the email, once", async () => {
    t = await createTestEnv({ agents: { Desk }, vars: { HEARTH_SMTP_URL: sink.url } });
    const before = sink.messages.length;
    const raw = Buffer.from("From: ada@example.org\r\nTo: desk@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nHello\r\n");
    const handler = (message: Parameters<typeof routeAgentEmail>[0], env: Parameters<typeof routeAgentEmail>[1]) =>
      routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Desk") });
    await deliverTo(receivedMail(raw, "ada@example.org"), "desk@example.com", handler, t.env);
    expect(outcomes).toEqual([
      'another domain: A reply is sent from the domain that received the email (example.com), not from "ceo@bank.example"',
      'a From header of someone else: From: header does not match mail from: the reply\'s From header ("CEO <ceo@bank.example>") must name its envelope sender, desk@example.com',
      "no Message-ID: invalid message-id: the reply needs a Message-ID header",
      "a Received header: invalid headers set: a reply may not carry Received headers (mail servers add them)",
      "no threading: no In-Reply-To header found in reply message: set In-Reply-To: <m1@example.org> (the email's Message-ID)",
      "In-Reply-To another message: In-Reply-To does not match original Message-ID: the reply answers <other@example.org>, the email is <m1@example.org>",
      "References without the Message-ID: provided References header is invalid: it must list the email's References and its Message-ID (<m1@example.org>), or be left out to be added",
      "threaded, from a sibling address: sent",
      "a second reply: This email was already replied to: reply() works once per message",
    ]);
    const [sent] = (await sink.waitFor(before + 1)).slice(before);
    expect(sent!.from.toLowerCase()).toBe("help@example.com");
    expect(sent!.parsed.inReplyTo).toBe("<m1@example.org>");
    expect(sink.messages.length).toBe(before + 1);
  });

  it("adds References to a reply with In-Reply-To only, as Cloudflare's documented example writes it", async () => {
    const before = sink.messages.length;
    const incoming =
      "From: ada@example.org\r\nTo: desk@example.com\r\nSubject: hi again\r\nMessage-ID: <m2@example.org>\r\n" +
      "In-Reply-To: <m0@example.com>\r\nReferences: <r0@example.org> <m0@example.com>\r\n\r\nHello\r\n";
    const result = await replyTo(incoming, "ada@example.org", (message) =>
      new EmailMessage(
        "desk@example.com",
        message.from,
        `From: "Thank you for your contact" <desk@example.com>\r\nTo: ${message.from}\r\nSubject: Email Routing Auto-reply\r\n` +
          "In-Reply-To: <m2@example.org>\r\nMessage-ID: <ticket-1@example.com>\r\n\r\nWe got your message, your ticket number is 1\r\n",
      ),
    );
    expect(result).toBe("sent");
    const [sent] = (await sink.waitFor(before + 1)).slice(before);
    expect(sent!.parsed.inReplyTo).toBe("<m2@example.org>");
    // The thread as RFC 5322 writes it: the email's References, then its Message-ID.
    expect(sent!.parsed.references).toBe("<r0@example.org> <m0@example.com> <m2@example.org>");
    expect(sent!.parsed.subject).toBe("Email Routing Auto-reply");
  });

  it("refuses to answer mail sent automatically, asking for no auto-replies, with a broken thread, or a bounce", async () => {
    const before = sink.messages.length;
    const answer = (message: { from: string }) =>
      new EmailMessage("desk@example.com", message.from || "ada@example.org", `From: desk@example.com\r\nTo: ada@example.org\r\nSubject: Re\r\nIn-Reply-To: <m3@example.org>\r\nReferences: <m3@example.org>\r\nMessage-ID: <r3@example.com>\r\n\r\nx\r\n`);
    const incoming = (headers: string) => `From: ada@example.org\r\nTo: desk@example.com\r\nSubject: Away\r\nMessage-ID: <m3@example.org>\r\n${headers}\r\nbody\r\n`;
    expect(await replyTo(incoming("Auto-Submitted: auto-replied\r\n"), "ada@example.org", answer)).toBe(
      "Original email is not replyable: it was sent automatically (Auto-Submitted: auto-replied), and answering it could start a mail loop",
    );
    expect(await replyTo(incoming("X-Auto-Response-Suppress: All\r\n"), "ada@example.org", answer)).toBe(
      "Original email is not replyable: its sender asks for no automatic replies (X-Auto-Response-Suppress: All)",
    );
    expect(await replyTo(incoming("In-Reply-To: <m0@example.com>\r\n"), "ada@example.org", answer)).toBe(
      "Original email is not replyable: it has In-Reply-To without References, or References without In-Reply-To, a thread Email Routing does not answer",
    );
    expect(await replyTo(incoming(""), "", answer)).toBe(
      "Original email is not replyable: its envelope sender is null (MAIL FROM:<>): it is a bounce or another delivery notification, and there is no one to reply to",
    );
    expect(sink.messages.length).toBe(before);
    // A person's mail says so, or says nothing.
    expect(await replyTo(incoming("Auto-Submitted: no\r\nX-Auto-Response-Suppress: None\r\n"), "ada@example.org", answer)).toBe("sent");
    await sink.waitFor(before + 1);
  });

  it("lets replyToEmail answer an email whose Message-ID is empty (nothing to thread to)", async () => {
    const before = sink.messages.length;
    t = await createTestEnv({ agents: { Helper }, vars: { HEARTH_SMTP_URL: sink.url } });
    const raw = Buffer.from("From: ada@example.org\r\nTo: helper@example.com\r\nSubject: hi\r\nMessage-ID:\r\n\r\nHello\r\n");
    const handler = (message: Parameters<typeof routeAgentEmail>[0], env: Parameters<typeof routeAgentEmail>[1]) =>
      routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Helper") });
    await deliverTo(receivedMail(raw, "ada@example.org"), "helper@example.com", handler, t.env);
    expect(outcomes).toEqual(["sent"]);
    const [sent] = (await sink.waitFor(before + 1)).slice(before);
    expect(sent!.parsed.subject).toBe("Re: hi");
  });
});
