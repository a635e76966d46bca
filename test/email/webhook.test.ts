import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailWebhook } from "../../src/email/index.ts";
import { startEmailService, type EmailService } from "../../src/email/serve-email.ts";
import { serve, type HearthServer } from "../../src/gateway/serve.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { email, Inbox } from "./inbox-agent.ts";

const SECRET = "webhook-secret";
let t: TestEnv;
let mail: EmailService;
let server: HearthServer;

beforeAll(async () => {
  t = await createTestEnv({ agents: { Inbox }, vars: { EMAIL_SECRET: "unused" } });
  mail = await startEmailService({
    env: t.env,
    handler: email,
    fetch: undefined,
    smtpPort: undefined,
    hostname: "127.0.0.1",
    vars: { HEARTH_EMAIL_WEBHOOK_SECRET: SECRET },
  });
  server = await serve({ host: t.host, port: 0, ...(mail.fetch ? { fetch: mail.fetch } : {}) });
});

afterAll(async () => {
  await server.close();
  await mail.close();
  await t.close();
});

const raw = (to: string, subject: string) => `From: Ada <ada@example.org>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <w1@example.org>\r\n\r\nHello from a provider\r\n`;
const post = (body: BodyInit, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }, query = "") =>
  fetch(`${server.url}/_hearth/email${query}`, { method: "POST", body, headers });

describe("the inbound-mail webhook", () => {
  it("refuses requests without the secret or with a wrong one, and stores nothing", async () => {
    const none = await post(raw("hook@example.com", "No secret"), {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect((await none.json()) as { error: string }).toMatchObject({ error: expect.stringContaining("HEARTH_EMAIL_WEBHOOK_SECRET") });
    expect((await post(raw("hook@example.com", "Wrong"), { authorization: "Bearer guess" })).status).toBe(401);
    expect(await t.get<Inbox>("Inbox", "hook").messages()).toEqual([]);
  });

  it("hands a posted raw message to the worker's email handler, like one received over SMTP", async () => {
    const response = await post(raw("hook@example.com", "Posted"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: true, recipients: ["hook@example.com"] });
    expect(await t.get<Inbox>("Inbox", "hook").messages()).toEqual([
      { sender: "ada@example.org", recipient: "hook@example.com", subject: "Posted", body: "Hello from a provider", secure: 0 },
    ]);
  });

  it("takes the envelope from the query when the provider gives it", async () => {
    const response = await post(raw("list@example.com", "Envelope"), undefined, "?from=bounce@example.org&to=inbox%2Benvelope@example.com");
    expect(await response.json()).toEqual({ accepted: true, recipients: ["inbox+envelope@example.com"] });
    expect(await t.get<Inbox>("Inbox", "envelope").messages()).toMatchObject([{ sender: "bounce@example.org", subject: "Envelope" }]);
  });

  it("answers 422 with the reason when the handler rejects the message", async () => {
    const response = await post(raw("blocked@example.com", "Nope"));
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ accepted: false, recipient: "blocked@example.com", delivered: [], error: "Blocked by policy" });
  });

  it("answers 503 (retry later) when the agent fails, keeping nothing of it", async () => {
    const response = await post(raw("broken@example.com", "fail please"));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("60");
    expect(await t.get<Inbox>("Inbox", "broken").messages()).toEqual([]);
  });

  it("answers malformed requests clearly", async () => {
    expect((await fetch(`${server.url}/_hearth/email`, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(405);
    expect((await post("")).status).toBe(400);
    const noRecipient = await post("From: ada@example.org\r\nSubject: x\r\n\r\nbody\r\n");
    expect(noRecipient.status).toBe(400);
    expect(await noRecipient.json()).toEqual({ error: expect.stringContaining("No recipient") });
    const notAnAddress = await post("From: ada@example.org\r\nTo: Team: ;\r\nSubject: x\r\n\r\nbody\r\n");
    expect(((await notAnAddress.json()) as { error: string }).error).toContain("No recipient");
  });

  it("refuses ?from and ?to values that are not mail addresses, delivering nothing", async () => {
    for (const query of ["?to=inbox%2Bq@example.com,not%20an%20address", "?from=Ada%20%3Cada@example.org%3E&to=inbox%2Bq@example.com", "?to=inbox%2Bq@example.com%0D%0ABcc:x@y.z"]) {
      const response = await post(raw("list@example.com", "Bad envelope"), undefined, query);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^Not a mail address: /);
    }
    expect(await t.get<Inbox>("Inbox", "q").messages()).toEqual([]);
  });

  it("hands a message to a recipient once: the same POST again is answered as a duplicate", async () => {
    const message = "From: ada@example.org\r\nTo: twice@example.com\r\nSubject: Twice\r\nMessage-ID: <twice-1@example.org>\r\n\r\nonce\r\n";
    expect(await (await post(message)).json()).toEqual({ accepted: true, recipients: ["twice@example.com"] });
    expect(await (await post(message)).json()).toEqual({ accepted: true, recipients: ["twice@example.com"], duplicate: true });
    expect((await t.get<Inbox>("Inbox", "twice").messages()).map((m) => m.subject)).toEqual(["Twice"]);
  });

  it("tells apart two messages that share a Message-ID (anyone can write any Message-ID): both are delivered", async () => {
    const spoof = "From: mallory@evil.test\r\nTo: reuse@example.com\r\nSubject: Spam\r\nMessage-ID: <notifications/42@github.com>\r\n\r\nx\r\n";
    const real = "From: noreply@github.com\r\nTo: reuse@example.com\r\nSubject: Real notification\r\nMessage-ID: <notifications/42@github.com>\r\n\r\nreal\r\n";
    expect(await (await post(spoof)).json()).toEqual({ accepted: true, recipients: ["reuse@example.com"] });
    expect(await (await post(real)).json()).toEqual({ accepted: true, recipients: ["reuse@example.com"] });
    expect(await (await post(real)).json()).toEqual({ accepted: true, recipients: ["reuse@example.com"], duplicate: true });
    expect((await t.get<Inbox>("Inbox", "reuse").messages()).map((m) => m.subject)).toEqual(["Spam", "Real notification"]);
  });

  it("leaves other paths to the agents", async () => {
    expect((await fetch(`${server.url}/agents/inbox/hook`)).status).toBe(404);
    expect(((await (await fetch(`${server.url}/nothing`)).json()) as { error: string }).error).toContain("Not found: /nothing");
  });
});

describe("webhook limits", () => {
  it("refuses a body over maxEmailBytes with 413 and too many recipients with 400", async () => {
    const webhook = createMailWebhook({ secret: SECRET, handler: email, env: t.env, maxEmailBytes: 1024, maxRecipients: 2 });
    const small = await serve({ host: t.host, port: 0, fetch: async (request) => (await webhook(request)) ?? new Response("other", { status: 404 }) });
    try {
      const big = await fetch(`${small.url}/_hearth/email`, {
        method: "POST",
        headers: { authorization: `Bearer ${SECRET}` },
        body: raw("big@example.com", "x".repeat(2048)),
      });
      expect(big.status).toBe(413);
      expect(await big.json()).toEqual({ error: "Message too large: at most 1024 bytes (maxEmailBytes)" });
      const many = await fetch(`${small.url}/_hearth/email?to=a@x.com,b@x.com,c@x.com`, {
        method: "POST",
        headers: { authorization: `Bearer ${SECRET}` },
        body: raw("a@x.com", "Many"),
      });
      expect(many.status).toBe(400);
      expect(((await many.json()) as { error: string }).error).toContain("maxEmailRecipients");
      expect(await t.get<Inbox>("Inbox", "big").messages()).toEqual([]);
      expect(await t.get<Inbox>("Inbox", "a").messages()).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it("refuses a chunked body (no Content-Length) with 413 as soon as it passes maxEmailBytes", async () => {
    const webhook = createMailWebhook({ secret: SECRET, handler: email, env: t.env, maxEmailBytes: 1024 });
    const small = await serve({ host: t.host, port: 0, fetch: async (request) => (await webhook(request)) ?? new Response("other", { status: 404 }) });
    try {
      const head = new TextEncoder().encode("From: ada@example.org\r\nTo: chunked@example.com\r\nSubject: Chunked\r\n\r\n");
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(head);
          else if (sent < 8) controller.enqueue(new Uint8Array(512).fill(0x78));
          else controller.close();
          sent++;
        },
      });
      const request = new Request(`${small.url}/_hearth/email`, { method: "POST", headers: { authorization: `Bearer ${SECRET}` }, body, duplex: "half" } as RequestInit);
      expect(request.headers.get("content-length")).toBeNull();
      const response = await fetch(request);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ error: "Message too large: at most 1024 bytes (maxEmailBytes)" });
      expect(await t.get<Inbox>("Inbox", "chunked").messages()).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it("refuses a header block over maxHeaderBytes or maxHeaderFields with 413, delivering nothing", async () => {
    const fields = (count: number) => "X-A: b\r\n".repeat(count);
    const huge = await post(`From: ada@example.org\r\nTo: heads@example.com\r\nSubject: Huge\r\n${fields(40_000)}\r\nbody\r\n`);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ error: "The message's header block is larger than 262144 bytes (maxHeaderBytes)" });
    const many = await post(`From: ada@example.org\r\nTo: heads@example.com\r\nSubject: Many\r\n${fields(1_000)}\r\nbody\r\n`);
    expect(many.status).toBe(413);
    expect(await many.json()).toEqual({ error: "The message has more than 1000 header fields (maxHeaderFields)" });
    const enough = await post(`From: ada@example.org\r\nTo: heads@example.com\r\nSubject: Enough\r\n${fields(997)}\r\nbody\r\n`);
    expect(enough.status).toBe(200);
    expect((await t.get<Inbox>("Inbox", "heads").messages()).map((m) => m.subject)).toEqual(["Enough"]);
  });

  it("needs a secret to be created at all", () => {
    expect(() => createMailWebhook({ secret: "", handler: email, env: t.env })).toThrow(/secret is required/);
  });
});
