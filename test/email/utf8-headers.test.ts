/**
 * A message whose headers are UTF-8 (RFC 6532, what an SMTPUTF8 sender writes): the agent reads them
 * as text, as on Cloudflare, and its reply's subject is the subject, not its bytes read as Latin-1.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createAddressBasedEmailResolver, routeAgentEmail, type AgentEmail } from "../../src/email/index.ts";
import { deliverTo, receivedMail } from "../../src/email/deliver.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startMailSink, type MailSink } from "./helpers.ts";

const seen: Array<Record<string, unknown>> = [];

class Desk extends Agent {
  async onEmail(email: AgentEmail): Promise<void> {
    // A copy (new Headers, fetch) takes the fields as held, bytes and all: it must not throw.
    seen.push({ subject: email.headers.get("subject"), keywords: email.headers.get("keywords"), copied: new Headers(email.headers).get("subject") });
    await this.replyToEmail(email, { fromName: "Desk", body: "Danke" });
  }
}

let t: TestEnv | undefined;
let sink: MailSink | undefined;
afterEach(async () => {
  seen.length = 0;
  await t?.close();
  await sink?.close();
  t = undefined;
  sink = undefined;
});

describe("UTF-8 header fields", () => {
  it("read as text in the agent, and the reply's subject keeps them", async () => {
    sink = await startMailSink();
    t = await createTestEnv({ agents: { Desk }, vars: { HEARTH_SMTP_URL: sink.url } });
    const raw = Buffer.from(
      "From: ada@example.org\r\nTo: desk@example.com\r\nSubject: Grüße aus Köln — 日本\r\nKeywords: caf\xe9\r\nMessage-ID: <m1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n",
      "utf8",
    );
    // "Keywords" holds a lone Latin-1 byte (not UTF-8): kept as that character, not replaced.
    const bytes = Buffer.concat([raw.subarray(0, raw.indexOf("Keywords")), Buffer.from("Keywords: caf\xe9\r\n", "latin1"), raw.subarray(raw.indexOf("Message-ID"))]);
    const handler = (message: Parameters<typeof routeAgentEmail>[0], env: Parameters<typeof routeAgentEmail>[1]) =>
      routeAgentEmail(message, env, { resolver: createAddressBasedEmailResolver("Desk") });
    expect(await deliverTo(receivedMail(bytes, "ada@example.org"), "desk@example.com", handler, t.env)).toEqual({ kind: "accepted", recipient: "desk@example.com" });
    expect(seen[0]).toMatchObject({ subject: "Grüße aus Köln — 日本", keywords: "café" });
    expect(seen[0]!.copied).toBe(Buffer.from("Grüße aus Köln — 日本", "utf8").toString("latin1"));
    const [reply] = await sink.waitFor(1);
    expect(reply!.parsed.subject).toBe("Re: Grüße aus Köln — 日本");
  });
});
