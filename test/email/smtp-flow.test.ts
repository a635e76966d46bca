import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpListener, type SmtpListener } from "../../src/email/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { sendMail, startMailSink, type MailSink } from "./helpers.ts";
import { email, Inbox, refusals } from "./inbox-agent.ts";

const SECRET = "test-secret";
let sink: MailSink;
let t: TestEnv;
let smtp: SmtpListener;

beforeAll(async () => {
  sink = await startMailSink();
  t = await createTestEnv({ agents: { Inbox }, vars: { HEARTH_SMTP_URL: sink.url, EMAIL_SECRET: SECRET } });
  smtp = await startSmtpListener({ handler: email, env: t.env, port: 0 });
});

afterAll(async () => {
  await smtp.close();
  await t.close();
  await sink.close();
});

const inbox = (name: string) => t.get<Inbox>("Inbox", name);

describe("mail into Hearth's SMTP listener", () => {
  it("reaches the agent named by the address, which stores it in its SQLite", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "support@example.com", subject: "Hello", text: "First message" });
    expect(sent).toMatchObject({ ok: true, accepted: ["support@example.com"] });
    expect(await inbox("support").messages()).toEqual([
      { sender: "ada@example.org", recipient: "support@example.com", subject: "Hello", body: "First message", secure: 0 },
    ]);
  });

  it("routes agent+id@domain to that class and instance", async () => {
    await sendMail(smtp.url, { from: "ada@example.org", to: "inbox+billing@example.com", subject: "Invoice", text: "x" });
    expect((await inbox("billing").messages()).map((m) => m.subject)).toEqual(["Invoice"]);
  });

  it("delivers the agent's reply to the sender through the outbound SMTP server, threaded and signed", async () => {
    const before = sink.messages.length;
    const sent = await sendMail(smtp.url, {
      from: "grace@example.org",
      to: "sales@example.com",
      subject: "Please reply",
      text: "Are you there?",
      messageId: "<question-1@example.org>",
    });
    expect(sent.ok).toBe(true);
    const [reply] = (await sink.waitFor(before + 1)).slice(before);
    expect(reply?.from).toBe("sales@example.com");
    expect(reply?.to).toEqual(["grace@example.org"]);
    expect(reply?.parsed.subject).toBe("Re: Please reply");
    expect(reply?.parsed.from).toMatchObject({ address: "sales@example.com", name: "Inbox Agent" });
    expect(reply?.parsed.inReplyTo).toBe("<question-1@example.org>");
    expect(reply?.parsed.text?.trim()).toBe("We got: Please reply");
    expect(reply?.header("x-agent-name")).toBe("inbox");
    expect(reply?.header("x-agent-id")).toBe("sales");
    expect(reply?.header("x-agent-sig")).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(reply?.header("x-agent-sig-ts")).toMatch(/^\d+$/);
  });

  it("routes a signed reply back to the agent that signed it, whatever address it was sent to", async () => {
    const before = sink.messages.length;
    await sendMail(smtp.url, { from: "grace@example.org", to: "sales@example.com", subject: "reply please", text: "q" });
    const [signed] = (await sink.waitFor(before + 1)).slice(before);
    const routing = {
      "X-Agent-Name": signed!.header("x-agent-name")!,
      "X-Agent-ID": signed!.header("x-agent-id")!,
      "X-Agent-Sig": signed!.header("x-agent-sig")!,
      "X-Agent-Sig-Ts": signed!.header("x-agent-sig-ts")!,
    };
    const sent = await sendMail(smtp.url, { from: "grace@example.org", to: "anyone@example.com", subject: "Answer", text: "a", headers: routing });
    expect(sent.ok).toBe(true);
    const sales = await inbox("sales").messages();
    expect(sales.at(-1)).toMatchObject({ subject: "Answer", recipient: "anyone@example.com", secure: 1 });
    expect(await inbox("anyone").messages()).toEqual([]);

    // A forged signature routes nowhere special: the address decides.
    const forged = { ...routing, "X-Agent-Sig": Buffer.from("forged".padEnd(32, "!")).toString("base64") };
    refusals.length = 0;
    await sendMail(smtp.url, { from: "mallory@example.org", to: "anyone@example.com", subject: "Forged", text: "f", headers: forged });
    expect(refusals).toEqual(["invalid"]);
    expect((await inbox("sales").messages()).map((m) => m.subject)).not.toContain("Forged");
    expect(await inbox("anyone").messages()).toMatchObject([{ subject: "Forged", secure: 0 }]);

    // A secure-routed email must be answered with a secret (or an explicit null): the handler fails, the sender retries.
    const unsigned = await sendMail(smtp.url, { from: "grace@example.org", to: "x@example.com", subject: "unsigned reply", text: "u", headers: routing });
    expect(unsigned).toMatchObject({ ok: false, responseCode: 451 });

    // Thirty-one days later the signature has expired (default maxAge: 30 days).
    await t.clock.advance("31 days");
    refusals.length = 0;
    await sendMail(smtp.url, { from: "grace@example.org", to: "late@example.com", subject: "Late answer", text: "l", headers: routing });
    expect(refusals).toEqual(["expired"]);
    expect((await inbox("sales").messages()).map((m) => m.subject)).not.toContain("Late answer");
    expect((await inbox("late").messages()).map((m) => m.subject)).toEqual(["Late answer"]);
  });

  it("turns setReject into a permanent SMTP refusal with the reason", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "blocked@example.com", subject: "Hi", text: "x" });
    expect(sent).toMatchObject({ ok: false, responseCode: 550 });
    expect(sent.ok === false && sent.response).toContain("Blocked by policy");
  });

  it("refuses an address no resolver can read (onNoRoute), and a class that is not bound", async () => {
    const long = `${"a".repeat(65)}@example.com`;
    const noRoute = await sendMail(smtp.url, { envelope: { from: "ada@example.org", to: [long] }, raw: "Subject: x\r\n\r\nbody\r\n" });
    expect(noRoute).toMatchObject({ ok: false, responseCode: 550 });
    expect(noRoute.ok === false && noRoute.response).toContain("Unknown recipient");

    const unknown = await sendMail(smtp.url, { from: "ada@example.org", to: "Nobody+x@example.com", subject: "x", text: "x" });
    expect(unknown).toMatchObject({ ok: false, responseCode: 550 });
    expect(unknown.ok === false && unknown.response).toContain("No mailbox for Nobody+x@example.com");
  });

  it("answers 451 when onEmail throws, and keeps none of its writes", async () => {
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "flaky@example.com", subject: "fail now", text: "x" });
    expect(sent).toMatchObject({ ok: false, responseCode: 451 });
    expect(await inbox("flaky").messages()).toEqual([]);
  });

  it("forwards with X-* headers through the outbound server", async () => {
    const before = sink.messages.length;
    const sent = await sendMail(smtp.url, { from: "ada@example.org", to: "fwd@example.com", subject: "Keep this", text: "archive me" });
    expect(sent.ok).toBe(true);
    const [forwarded] = (await sink.waitFor(before + 1)).slice(before);
    expect(forwarded?.to).toEqual(["archive@example.net"]);
    expect(forwarded?.from).toBe("fwd@example.com");
    expect(forwarded?.header("x-forwarded-by")).toBe("hearth-test");
    expect(forwarded?.parsed.subject).toBe("Keep this");
    expect(forwarded?.parsed.from?.address).toBe("ada@example.org");
  });
});

describe("limits of the SMTP listener", () => {
  let small: SmtpListener;
  beforeAll(async () => {
    small = await startSmtpListener({ handler: email, env: t.env, port: 0, maxEmailBytes: 64 * 1024, maxRecipients: 2 });
  });
  afterAll(() => small.close());

  it("refuses a message over maxEmailBytes with 552 and stores nothing", async () => {
    const sent = await sendMail(small.url, { from: "ada@example.org", to: "big@example.com", subject: "Big", text: "x".repeat(100 * 1024) });
    expect(sent).toMatchObject({ ok: false, responseCode: 552 });
    expect(await inbox("big").messages()).toEqual([]);
  });

  it("answers 452 past maxEmailRecipients, delivering to the recipients it took", async () => {
    const sent = await sendMail(small.url, {
      from: "ada@example.org",
      to: ["r1@example.com", "r2@example.com", "r3@example.com"],
      subject: "Many",
      text: "x",
    });
    expect(sent).toMatchObject({ ok: true, accepted: ["r1@example.com", "r2@example.com"], rejected: ["r3@example.com"], rejectedCodes: [452] });
    expect((await inbox("r1").messages()).map((m) => m.subject)).toEqual(["Many"]);
    expect((await inbox("r2").messages()).map((m) => m.recipient)).toEqual(["r2@example.com"]);
    expect(await inbox("r3").messages()).toEqual([]);
  });

  it("refuses every recipient when the worker has no email handler", async () => {
    const none = await startSmtpListener({ handler: undefined, env: t.env, port: 0 });
    try {
      const sent = await sendMail(none.url, { from: "ada@example.org", to: "support@example.com", subject: "x", text: "x" });
      expect(sent).toMatchObject({ ok: false, responseCode: 550 });
      expect(sent.ok === false && sent.response).toContain("no email handler");
    } finally {
      await none.close();
    }
  });
});
