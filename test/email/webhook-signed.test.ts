import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailWebhook, EmailError, signWebhookBody, type WorkerEmail } from "../../src/email/index.ts";
import { startEmailService } from "../../src/email/serve-email.ts";
import { serve, type HearthServer } from "../../src/gateway/serve.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { email, Inbox } from "./inbox-agent.ts";

const SECRET = "signing-secret";
let t: TestEnv;
let signed: HearthServer;

/** A webhook served on loopback; other paths 404. */
function serveWebhook(webhook: ReturnType<typeof createMailWebhook>): Promise<HearthServer> {
  return serve({ host: t.host, port: 0, fetch: async (request) => (await webhook(request)) ?? new Response("other", { status: 404 }) });
}

beforeAll(async () => {
  t = await createTestEnv({ agents: { Inbox }, vars: { EMAIL_SECRET: "unused" } });
  signed = await serveWebhook(createMailWebhook({ secret: SECRET, auth: "signature", handler: email, env: t.env }));
});

afterAll(async () => {
  await signed.close();
  await t.close();
});

const now = () => Math.floor(Date.now() / 1000);
const inbox = (name: string) => t.get<Inbox>("Inbox", name);
const message = (id: string) => `From: ada@example.org\r\nTo: list@example.com\r\nSubject: Signed ${id}\r\nMessage-ID: <${id}@example.org>\r\n\r\nHello\r\n`;

/** A POST as a relay sends it: the timestamp and `v1=<hex HMAC of "<timestamp>.<body>">`. */
function signedPost(body: string, query: string, options: { timestamp?: number; signature?: string; headers?: Record<string, string> } = {}) {
  const timestamp = options.timestamp ?? now();
  return fetch(`${signed.url}/_hearth/email${query}`, {
    method: "POST",
    body,
    headers: {
      "x-hearth-email-timestamp": String(timestamp),
      "x-hearth-email-signature": options.signature ?? signWebhookBody(SECRET, timestamp, body),
      ...options.headers,
    },
  });
}
const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe("the webhook with signed requests (auth: \"signature\")", () => {
  it("accepts a request signed over timestamp and body, as the documented recipe computes it", async () => {
    const body = message("recipe");
    const timestamp = now();
    const hex = createHmac("sha256", SECRET).update(`${timestamp}.${body}`).digest("hex");
    expect(signWebhookBody(SECRET, timestamp, body)).toBe(`v1=${hex}`);
    const response = await signedPost(body, "?to=inbox%2Brecipe@example.com", { timestamp, signature: `v1=${"0".repeat(64)}, v1=${hex}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: true, recipients: ["inbox+recipe@example.com"] });
    expect((await inbox("recipe").messages()).map((m) => m.subject)).toEqual(["Signed recipe"]);
  });

  it("refuses a missing, wrong or bearer-only request with 401, delivering nothing", async () => {
    const body = message("refused");
    const query = "?to=inbox%2Brefused@example.com";
    const bearer = await fetch(`${signed.url}/_hearth/email${query}`, { method: "POST", body, headers: { authorization: `Bearer ${SECRET}` } });
    expect(bearer.status).toBe(401);
    expect(await errorOf(bearer)).toContain("Missing signature: send X-Hearth-Email-Timestamp and X-Hearth-Email-Signature");
    const wrongKey = await signedPost(body, query, { signature: signWebhookBody("another-secret", now(), body) });
    expect(wrongKey.status).toBe(401);
    expect(await errorOf(wrongKey)).toMatch(/^Wrong signature/);
    const otherBody = await signedPost(body, query, { signature: signWebhookBody(SECRET, now(), message("other")) });
    expect(otherBody.status).toBe(401);
    const badTime = await signedPost(body, query, { headers: { "x-hearth-email-timestamp": "yesterday" } });
    expect(await errorOf(badTime)).toContain("must be Unix time in seconds");
    const future = await signedPost(body, query, { timestamp: now() + 301 });
    expect(future.status).toBe(401);
    expect(await errorOf(future)).toContain("webhookSignatureToleranceSeconds");
    expect(await inbox("refused").messages()).toEqual([]);
  });

  it("refuses a replay: not delivered again, refused for another envelope, refused once the tolerance has passed", async () => {
    const body = message("replay");
    const timestamp = now();
    const signature = signWebhookBody(SECRET, timestamp, body);
    const first = await signedPost(body, "?to=inbox%2Breplay@example.com", { timestamp, signature });
    expect(await first.json()).toEqual({ accepted: true, recipients: ["inbox+replay@example.com"] });

    const again = await signedPost(body, "?to=inbox%2Breplay@example.com", { timestamp, signature });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ accepted: true, recipients: ["inbox+replay@example.com"], duplicate: true });

    const elsewhere = await signedPost(body, "?to=inbox%2Bvictim@example.com", { timestamp, signature });
    expect(elsewhere.status).toBe(401);
    expect(await errorOf(elsewhere)).toContain("already used for another envelope");

    // The provider's retry, signed anew, is the same message (Message-ID): still not delivered twice.
    const resigned = await signedPost(body, "?to=inbox%2Breplay@example.com");
    expect(await resigned.json()).toMatchObject({ duplicate: true });

    await t.clock.advance("301 seconds");
    const late = await signedPost(body, "?to=inbox%2Breplay@example.com", { timestamp, signature });
    expect(late.status).toBe(401);
    expect(await errorOf(late)).toMatch(/X-Hearth-Email-Timestamp is 30\d s away from the server's time; at most 300 s/);
    expect((await inbox("replay").messages()).map((m) => m.subject)).toEqual(["Signed replay"]);
    expect(await inbox("victim").messages()).toEqual([]);
  });
});

describe("a message for several recipients over the webhook", () => {
  it("keeps each recipient's outcome: the provider's retry after a 503 reaches only the one that failed", async () => {
    const failOnce = new Set(["m2@example.com"]);
    const flaky: WorkerEmail = async (incoming, env) => {
      if (failOnce.delete(incoming.to)) throw new Error("m2's store is down for a moment");
      await email(incoming, env);
    };
    const server = await serveWebhook(createMailWebhook({ secret: SECRET, handler: flaky, env: t.env }));
    try {
      const post = () =>
        fetch(`${server.url}/_hearth/email?to=m1@example.com,m2@example.com,m3@example.com`, {
          method: "POST",
          body: message("several"),
          headers: { authorization: `Bearer ${SECRET}` },
        });
      const first = await post();
      expect(first.status).toBe(503);
      expect(await first.json()).toMatchObject({ accepted: false, recipient: "m2@example.com", delivered: ["m1@example.com", "m3@example.com"] });
      const retry = await post();
      expect(await retry.json()).toEqual({ accepted: true, recipients: ["m1@example.com", "m2@example.com", "m3@example.com"] });
      for (const name of ["m1", "m2", "m3"]) {
        expect((await inbox(name).messages()).map((m) => m.recipient)).toEqual([`${name}@example.com`]);
      }
    } finally {
      await server.close();
    }
  });
});

describe("HEARTH_EMAIL_WEBHOOK_AUTH", () => {
  const start = (auth: string) =>
    startEmailService({ env: t.env, handler: email, fetch: undefined, smtpPort: undefined, hostname: "127.0.0.1", vars: { HEARTH_EMAIL_WEBHOOK_SECRET: SECRET, HEARTH_EMAIL_WEBHOOK_AUTH: auth } });

  it("turns on signed requests with `signature`, and refuses an unknown mode", async () => {
    const mail = await start("signature");
    const server = await serve({ host: t.host, port: 0, ...(mail.fetch ? { fetch: mail.fetch } : {}) });
    try {
      const response = await fetch(`${server.url}/_hearth/email`, { method: "POST", body: message("mode"), headers: { authorization: `Bearer ${SECRET}` } });
      expect(response.status).toBe(401);
      expect(await errorOf(response)).toContain("Missing signature");
    } finally {
      await server.close();
      await mail.close();
    }
    await expect(start("hmac")).rejects.toThrow(EmailError);
    await expect(start("hmac")).rejects.toThrow('HEARTH_EMAIL_WEBHOOK_AUTH must be "bearer" or "signature", got "hmac"');
  });
});
