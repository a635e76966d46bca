import { afterEach, describe, expect, it } from "vitest";
import { startSmtpListener, type SmtpListener } from "../../src/email/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { sendMail, startMailSink, type MailSink } from "../email/helpers.ts";
import { email, Inbox } from "../email/inbox-agent.ts";
import { collect, type Collected } from "./collect.ts";

let sink: MailSink | undefined;
let t: TestEnv | undefined;
let smtp: SmtpListener | undefined;
let seen: Collected | undefined;

afterEach(async () => {
  seen?.stop();
  await smtp?.close();
  await t?.close();
  await sink?.close();
  [seen, smtp, t, sink] = [undefined, undefined, undefined, undefined];
});

describe("email events", () => {
  it("email:receive for mail routed to an agent and email:reply for its answer", async () => {
    sink = await startMailSink();
    t = await createTestEnv({ agents: { Inbox }, vars: { HEARTH_SMTP_URL: sink.url, EMAIL_SECRET: "s" } });
    smtp = await startSmtpListener({ handler: email, env: t.env, port: 0 });
    seen = collect();
    await sendMail(smtp.url, { from: "grace@example.org", to: "sales@example.com", subject: "Please reply", text: "Hi" });
    await sink.waitFor(1);
    await expect.poll(() => seen!.events.length).toBe(2); // the reply's event follows the SMTP server's answer
    expect(seen.of("sales")).toEqual([
      ["email:receive", { from: "grace@example.org", to: "sales@example.com", subject: "Please reply" }],
      ["email:reply", { from: "sales@example.com", to: "grace@example.org", subject: "Re: Please reply" }],
    ]);
    expect(seen.events.map((event) => [event.channel, event.agent])).toEqual([
      ["email", "Inbox"],
      ["email", "Inbox"],
    ]);
  });
});
