import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Agent, getCurrentAgent } from "../../src/index.ts";
import {
  createCatchAllEmailResolver,
  createSecureReplyEmailResolver,
  EmailError,
  EmailMessage,
  routeAgentEmail,
  SmtpEmailBinding,
  type AgentEmail,
  type EmailMessageBuilder,
  type ForwardableEmailMessage,
  type SendEmail,
  type SendEmailOptions,
} from "../../src/email/index.ts";
import { parseHeaderBlock, toHeaders } from "../../src/email/headers.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startMailSink, type MailSink, type SunkMail } from "./helpers.ts";

/** Sent builders, for the Cloudflare-style `binding` test. */
const captured: EmailMessageBuilder[] = [];
const capturingBinding: SendEmail = {
  async send(message) {
    captured.push(message as EmailMessageBuilder);
    return { messageId: "<captured@example.com>" };
  },
};

let kept: AgentEmail | undefined;
/** Whether getCurrentAgent().email was the email being handled, after an await in onEmail. */
let seenInContext = false;
/** Read through a function: TypeScript cannot see onEmail assign it. */
const lastKept = (): AgentEmail | undefined => kept;

export class Mailer extends Agent {
  send(options: SendEmailOptions) {
    return this.sendEmail(options);
  }
  sendWithBinding(options: Omit<SendEmailOptions, "binding">) {
    return this.sendEmail({ ...options, binding: capturingBinding });
  }
  async onEmail(email: AgentEmail) {
    kept = email;
    await Promise.resolve();
    seenInContext = getCurrentAgent().email === email;
  }
}

let sink: MailSink;
let t: TestEnv;

beforeAll(async () => {
  sink = await startMailSink();
  t = await createTestEnv({ agents: { Mailer }, vars: { HEARTH_SMTP_URL: sink.url } });
});

afterAll(async () => {
  await t.close();
  await sink.close();
});

/** The sunk message as an inbound message, to run resolvers on what actually travelled. */
function asInbound(mail: SunkMail): ForwardableEmailMessage {
  return {
    from: mail.from,
    to: mail.to[0] ?? "",
    headers: toHeaders(parseHeaderBlock(mail.raw)),
    raw: new ReadableStream(),
    rawSize: mail.raw.byteLength,
    setReject: () => {},
    forward: async () => ({ messageId: "" }),
    reply: async () => ({ messageId: "" }),
  };
}

async function nextMail(send: () => Promise<unknown>): Promise<SunkMail> {
  const before = sink.messages.length;
  await send();
  const [mail] = (await sink.waitFor(before + 1)).slice(before);
  return mail!;
}

describe("this.sendEmail over HEARTH_SMTP_URL", () => {
  it("sends a composed message with routing headers, threading, an attachment, and a verifiable signature", async () => {
    const stub = t.get<Mailer>("Mailer", "newsletter");
    let result: unknown;
    const mail = await nextMail(async () => {
      result = await stub.send({
        to: ["ada@example.org", "grace@example.org"],
        cc: "team@example.org",
        from: { email: "news@example.com", name: "Newsletter" },
        replyTo: "replies@example.com",
        subject: "Issue 1",
        text: "Plain text",
        html: "<p>Rich text</p>",
        inReplyTo: "<earlier@example.org>",
        headers: { "X-Campaign": "one" },
        attachments: [{ content: Buffer.from("a,b\n1,2\n").toString("base64"), filename: "data.csv", type: "text/csv" }],
        secret: "k",
      });
    });
    expect(mail.from).toBe("news@example.com");
    expect(mail.to.sort()).toEqual(["ada@example.org", "grace@example.org", "team@example.org"]);
    expect(mail.parsed).toMatchObject({ subject: "Issue 1", inReplyTo: "<earlier@example.org>", references: "<earlier@example.org>" });
    expect([mail.parsed.text?.trim(), mail.parsed.html?.trim()]).toEqual(["Plain text", "<p>Rich text</p>"]);
    expect(mail.parsed.attachments).toMatchObject([{ filename: "data.csv", mimeType: "text/csv" }]);
    expect(Buffer.from(mail.parsed.attachments[0]!.content as ArrayBuffer).toString()).toBe("a,b\n1,2\n");
    expect(mail.parsed.from).toMatchObject({ address: "news@example.com", name: "Newsletter" });
    expect(mail.parsed.replyTo).toMatchObject([{ address: "replies@example.com" }]);
    expect(mail.header("x-campaign")).toBe("one");
    expect(mail.header("x-agent-name")).toBe("mailer");
    expect(result).toEqual({ messageId: mail.parsed.messageId });
    const route = await createSecureReplyEmailResolver("k")(asInbound(mail), {});
    expect(route).toEqual({ agentName: "mailer", agentId: "newsletter", _secureRouted: true });
  });

  it("signs non-ASCII instance names so that replies still find them", async () => {
    const mail = await nextMail(() =>
      t.get<Mailer>("Mailer", "café ☕").send({ to: "ada@example.org", from: "bot@example.com", subject: "Hi", text: "x", secret: "k" }),
    );
    const route = await createSecureReplyEmailResolver("k")(asInbound(mail), {});
    expect(route).toEqual({ agentName: "mailer", agentId: "café ☕", _secureRouted: true });
  });

  it("uses a send_email-shaped binding when one is passed, as code written for Cloudflare does", async () => {
    captured.length = 0;
    const result = await t.get<Mailer>("Mailer", "cf").sendWithBinding({ to: "ada@example.org", from: "bot@example.com", subject: "Via binding", text: "x" });
    expect(result).toEqual({ messageId: "<captured@example.com>" });
    expect(captured).toEqual([
      { to: "ada@example.org", from: "bot@example.com", subject: "Via binding", text: "x", headers: { "X-Agent-Name": "mailer", "X-Agent-ID": "cf" } },
    ]);
  });

  it("refuses a message it cannot send, naming what is wrong", async () => {
    const stub = t.get<Mailer>("Mailer", "bad");
    await expect(stub.send({ to: [], from: "bot@example.com", subject: "x", text: "x" })).rejects.toThrow(/no recipient/);
    await expect(stub.send({ to: "a@example.org", from: "bot@example.com", subject: "x" })).rejects.toThrow(/text or html/);
    const many = Array.from({ length: 51 }, (_, i) => `r${i}@example.org`);
    await expect(stub.send({ to: many, from: "bot@example.com", subject: "x", text: "x" })).rejects.toThrow(/51 recipients; at most 50 \(maxEmailRecipients\)/);
  });
});

describe("SmtpEmailBinding", () => {
  it("sends a raw EmailMessage as it is, with its envelope", async () => {
    const binding = new SmtpEmailBinding(sink.url);
    const raw = "From: bot@example.com\r\nTo: ada@example.org\r\nSubject: Raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\nExactly this.\r\n";
    let result: unknown;
    const mail = await nextMail(async () => {
      result = await binding.send(new EmailMessage("bounces@example.com", "ada@example.org", raw));
    });
    expect(result).toEqual({ messageId: "<raw-1@example.com>" });
    expect(mail.from).toBe("bounces@example.com");
    expect(mail.to).toEqual(["ada@example.org"]);
    expect(mail.raw.toString("utf8")).toContain("Subject: Raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\nExactly this.");
  });

  it("explains a bad URL and an unreachable server", async () => {
    expect(() => new SmtpEmailBinding("mail.example.com")).toThrow(/not a URL/);
    expect(() => new SmtpEmailBinding("https://mail.example.com")).toThrow(/must start with smtp:\/\/ or smtps:\/\//);
    const gone = await startMailSink();
    await gone.close();
    const binding = new SmtpEmailBinding(gone.url);
    const error = await binding.send({ to: "a@example.org", from: "b@example.com", subject: "x", text: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmailError);
    expect(error).toMatchObject({ code: "send_failed", permanent: false });
    expect((error as Error).message).toContain(`Could not send through the SMTP server ${gone.url}`);
  });

  it("hides the password when it shows the server", () => {
    expect(new SmtpEmailBinding("smtps://user:hunter2@mail.example.com:465").server).toBe("smtps://user:***@mail.example.com:465");
  });
});

describe("without an outbound transport", () => {
  it("says how to configure one", async () => {
    const bare = await createTestEnv({ agents: { Mailer }, time: "system" });
    const saved = process.env.HEARTH_SMTP_URL;
    delete process.env.HEARTH_SMTP_URL;
    try {
      const error = await bare
        .get<Mailer>("Mailer", "x")
        .send({ to: "a@example.org", from: "b@example.com", subject: "x", text: "x" })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "EmailError", code: "not_configured" });
      expect((error as Error).message).toMatch(/HEARTH_SMTP_URL.*env\.EMAIL.*binding/);
    } finally {
      if (saved !== undefined) process.env.HEARTH_SMTP_URL = saved;
      await bare.close();
    }
  });
});

describe("routeAgentEmail", () => {
  const inbound = (): ForwardableEmailMessage => ({
    from: "ada@example.org",
    to: "desk@example.com",
    headers: new Headers({ subject: "Hello" }),
    raw: new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("Subject: Hello\r\n\r\nbody\r\n"));
        controller.close();
      },
    }),
    rawSize: 25,
    setReject: () => {},
    forward: async () => ({ messageId: "" }),
    reply: async () => ({ messageId: "" }),
  });

  it("finds the class by binding, kebab-case or lower-case name, and ends the email's delivery with onEmail", async () => {
    for (const name of ["Mailer", "mailer", "MAILER"]) {
      kept = undefined;
      await routeAgentEmail(inbound(), t.env, { resolver: createCatchAllEmailResolver(name, "desk") });
      expect(lastKept()?.headers.get("subject")).toBe("Hello");
    }
    expect(seenInContext).toBe(true);
    await expect(lastKept()!.getRaw()).rejects.toMatchObject({ code: "delivery_over" });
    expect(() => lastKept()!.setReject("late")).toThrow(/delivery of this email is over/);
  });

  it("throws an unknown_agent EmailError for a class that is not bound", async () => {
    const error = await routeAgentEmail(inbound(), t.env, { resolver: createCatchAllEmailResolver("Ghost", "x") }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "unknown_agent" });
    expect((error as Error).message).toContain("Available agents: Mailer");
  });

  it("logs and drops a message without a route when there is no onNoRoute", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await routeAgentEmail(inbound(), t.env, { resolver: async () => null });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("no route for the email from ada@example.org to desk@example.com"));
    } finally {
      warn.mockRestore();
    }
  });
});
