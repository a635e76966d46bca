/**
 * reply() follows Cloudflare's rules: once, to the sender, from the domain that received the email,
 * and threaded with In-Reply-To and References.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createAddressBasedEmailResolver, routeAgentEmail, type AgentEmail } from "../../src/email/index.ts";
import { deliverTo, receivedMail } from "../../src/email/deliver.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startMailSink, type MailSink } from "./helpers.ts";

const outcomes: string[] = [];

/** A reply as AgentEmail.reply takes it (Cloudflare's agents pass { from, to, raw }). */
function reply(from: string, headers: string): { from: string; to: string; raw: string } {
  return { from, to: "ada@example.org", raw: `From: ${from}\r\nTo: ada@example.org\r\nSubject: Re: hi\r\n${headers}\r\nok\r\n` };
}

class Desk extends Agent {
  async onEmail(email: AgentEmail): Promise<void> {
    const attempts: Array<[string, ReturnType<typeof reply>]> = [
      ["another domain", reply("ceo@bank.example", "In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\n")],
      ["no threading", reply("desk@example.com", "")],
      ["no References", reply("desk@example.com", "In-Reply-To: <m1@example.org>\r\n")],
      ["threaded, from a sibling address", reply("Help <help@Example.COM>", "In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\n")],
      ["a second reply", reply("desk@example.com", "In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\n")],
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
let sink: MailSink | undefined;
afterEach(async () => {
  outcomes.length = 0;
  await t?.close();
  await sink?.close();
  t = undefined;
  sink = undefined;
});

describe("reply()", () => {
  it("is sent only from the receiving domain, threaded, once", async () => {
    sink = await startMailSink();
    t = await createTestEnv({ agents: { Desk }, vars: { HEARTH_SMTP_URL: sink.url } });
    const raw = Buffer.from("From: ada@example.org\r\nTo: desk@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nHello\r\n");
    const handler = (message: Parameters<typeof routeAgentEmail>[0], env: Parameters<typeof routeAgentEmail>[1]) =>
      routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Desk") });
    await deliverTo(receivedMail(raw, "ada@example.org"), "desk@example.com", handler, t.env);
    expect(outcomes).toEqual([
      'another domain: A reply is sent from the domain that received the email (example.com), not from "ceo@bank.example"',
      "no threading: A reply needs In-Reply-To and References headers naming the email it answers (its Message-ID)",
      "no References: A reply needs a References header naming the email it answers (its Message-ID)",
      "threaded, from a sibling address: sent",
      "a second reply: This email was already replied to: reply() works once per message",
    ]);
    const [sent] = await sink.waitFor(1);
    expect(sent!.parsed.inReplyTo).toBe("<m1@example.org>");
  });

  it("lets replyToEmail answer an email whose Message-ID is empty (nothing to thread to)", async () => {
    sink = await startMailSink();
    t = await createTestEnv({ agents: { Helper }, vars: { HEARTH_SMTP_URL: sink.url } });
    const raw = Buffer.from("From: ada@example.org\r\nTo: helper@example.com\r\nSubject: hi\r\nMessage-ID:\r\n\r\nHello\r\n");
    const handler = (message: Parameters<typeof routeAgentEmail>[0], env: Parameters<typeof routeAgentEmail>[1]) =>
      routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Helper") });
    await deliverTo(receivedMail(raw, "ada@example.org"), "helper@example.com", handler, t.env);
    expect(outcomes).toEqual(["sent"]);
    const [sent] = await sink.waitFor(1);
    expect(sent!.parsed.subject).toBe("Re: hi");
  });
});
