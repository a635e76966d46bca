import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailWebhook, EmailError, signWebhookRequest, type WorkerEmail } from "../../src/email/index.ts";
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

/** The signature header of a POST to `target` (path and query), as `signWebhookRequest` computes it. */
const signatureOf = (secret: string, timestamp: number, target: string, body: string) =>
  signWebhookRequest(secret, target, body, timestamp)["X-Hearth-Email-Signature"]!;

/** A POST as a relay sends it: the timestamp and `v2=<hex HMAC of "<timestamp>\nPOST <path>?<query>\n<body>">`. */
function signedPost(body: string, query: string, options: { timestamp?: number; signature?: string; headers?: Record<string, string> } = {}) {
  const timestamp = options.timestamp ?? now();
  const target = `/_hearth/email${query}`;
  return fetch(`${signed.url}${target}`, {
    method: "POST",
    body,
    headers: {
      "x-hearth-email-timestamp": String(timestamp),
      "x-hearth-email-signature": options.signature ?? signatureOf(SECRET, timestamp, target, body),
      ...options.headers,
    },
  });
}
const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe("the webhook with signed requests (auth: \"signature\")", () => {
  it("accepts a request signed over timestamp, method, path, query and body, as the documented recipe computes it", async () => {
    const body = message("recipe");
    const timestamp = now();
    const target = "/_hearth/email?to=inbox%2Brecipe@example.com";
    const hex = createHmac("sha256", SECRET).update(`${timestamp}\nPOST ${target}\n${body}`).digest("hex");
    expect(signWebhookRequest(SECRET, `http://relay.example${target}`, body, timestamp)).toEqual({
      "X-Hearth-Email-Timestamp": String(timestamp),
      "X-Hearth-Email-Signature": `v2=${hex}`,
    });
    const response = await signedPost(body, "?to=inbox%2Brecipe@example.com", { timestamp, signature: `v2=${"0".repeat(64)}, v2=${hex}` });
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
    const wrongKey = await signedPost(body, query, { signature: signatureOf("another-secret", now(), `/_hearth/email${query}`, body) });
    expect(wrongKey.status).toBe(401);
    expect(await errorOf(wrongKey)).toMatch(/^Wrong signature/);
    const otherBody = await signedPost(body, query, { signature: signatureOf(SECRET, now(), `/_hearth/email${query}`, message("other")) });
    expect(otherBody.status).toBe(401);
    const v1 = await signedPost(body, query, { signature: `v1=${createHmac("sha256", SECRET).update(`${now()}.${body}`).digest("hex")}` });
    expect(v1.status).toBe(401);
    expect(await errorOf(v1)).toContain("v1 signatures (of \"<timestamp>.<body>\") are refused");
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
    const signature = signatureOf(SECRET, timestamp, "/_hearth/email?to=inbox%2Breplay@example.com", body);
    const first = await signedPost(body, "?to=inbox%2Breplay@example.com", { timestamp, signature });
    expect(await first.json()).toEqual({ accepted: true, recipients: ["inbox+replay@example.com"] });

    const again = await signedPost(body, "?to=inbox%2Breplay@example.com", { timestamp, signature });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ accepted: true, recipients: ["inbox+replay@example.com"], duplicate: true });

    const elsewhere = await signedPost(body, "?to=inbox%2Bvictim@example.com", { timestamp, signature });
    expect(elsewhere.status).toBe(401);
    expect(await errorOf(elsewhere)).toMatch(/^Wrong signature/);

    // The provider's retry, signed anew, is the same message (the same bytes): still not delivered twice.
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

describe("what a signature covers", () => {
  it("the envelope in the query: a captured request sent to other recipients first reaches none, and the original still goes through", async () => {
    const body = message("captured");
    const timestamp = now();
    const signature = signatureOf(SECRET, timestamp, "/_hearth/email?to=inbox%2Bcaptured@example.com", body);
    const forged = await signedPost(body, "?to=inbox%2Bmallory@example.com&from=boss@example.com", { timestamp, signature });
    expect(forged.status).toBe(401);
    expect(await errorOf(forged)).toMatch(/^Wrong signature/);
    const original = await signedPost(body, "?to=inbox%2Bcaptured@example.com", { timestamp, signature });
    expect(await original.json()).toEqual({ accepted: true, recipients: ["inbox+captured@example.com"] });
    expect(await inbox("mallory").messages()).toEqual([]);
    expect((await inbox("captured").messages()).map((m) => m.subject)).toEqual(["Signed captured"]);
  });

  it("is checked before the body is read: a request without a valid timestamp costs no memory", async () => {
    const webhook = createMailWebhook({ secret: SECRET, auth: "signature", handler: email, env: t.env });
    const attempts: Array<[string, Record<string, string>]> = [
      ["Missing signature", {}],
      ["away from the server's time", { "x-hearth-email-timestamp": String(now() - 3600), "x-hearth-email-signature": `v2=${"0".repeat(64)}` }],
    ];
    for (const [error, headers] of attempts) {
      let pulled = 0;
      let cancelled = false;
      // A body that never ends: reading it would go on to maxEmailBytes.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x78));
        },
        cancel() {
          cancelled = true;
        },
      });
      const request = new Request("http://hearth.test/_hearth/email?to=inbox%2Bunsigned@example.com", { method: "POST", headers, body, duplex: "half" } as RequestInit);
      const response = await webhook(request)!;
      expect(response.status).toBe(401);
      expect(await errorOf(response)).toContain(error);
      expect(cancelled).toBe(true);
      expect(pulled).toBeLessThanOrEqual(1);
    }
    expect(await inbox("unsigned").messages()).toEqual([]);
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
