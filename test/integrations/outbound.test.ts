import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { OutboundAddressError } from "../../src/integrations/address-guard.ts";
import {
  discardDeadLetter,
  getWebhook,
  listDeadLetters,
  retryDeadLetter,
  sendWebhook,
  type SendWebhookOptions,
  type WebhookMessage,
} from "../../src/integrations/outbound.ts";
import { verifyWebhook } from "../../src/integrations/webhook-signature.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startServer, type Received, type TestServer } from "./http-server.ts";

const START = Date.parse("2025-03-01T12:00:00Z");
const SECRET = "outbound-secret";
/** Quick, jitter-bounded retries: 500-1000 ms apart. */
const FAST: SendWebhookOptions = { allowPrivate: true, retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 1000 } };

class Notifier extends Agent {
  send(message: WebhookMessage, options?: SendWebhookOptions) {
    return sendWebhook(this, message, options);
  }
  sendThenFail(message: WebhookMessage, options?: SendWebhookOptions) {
    sendWebhook(this, message, options);
    throw new Error("the event failed after recording");
  }
  status(id: string) {
    return getWebhook(this, id);
  }
  dead() {
    return listDeadLetters(this);
  }
  retryLetter(id: string) {
    return retryDeadLetter(this, id);
  }
  discard(id: string) {
    return discardDeadLetter(this, id);
  }
  /** A webhook as an earlier version may have recorded it, with headers or a URL fetch refuses. */
  sendAsRecordedBefore(message: WebhookMessage, options: SendWebhookOptions, stored: { headers?: string; url?: string }) {
    const id = sendWebhook(this, message, options);
    if (stored.headers !== undefined) this.sql`UPDATE _hearth_webhook_outbox SET headers = ${stored.headers} WHERE id = ${id}`;
    if (stored.url !== undefined) this.sql`UPDATE _hearth_webhook_outbox SET url = ${stored.url} WHERE id = ${id}`;
    return id;
  }
  sendMany(url: string, count: number) {
    for (let i = 0; i < count; i++) sendWebhook(this, { url, body: { i } }, { allowPrivate: true });
  }
}

let t: TestEnv | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const server of servers.splice(0)) await server.close();
});

/** A receiver answering each request with the next of `answers` (the last one repeats). */
async function receiver(...answers: Array<number | [number, Record<string, string>, string?]>): Promise<TestServer> {
  let i = 0;
  const server = await startServer((_req, res) => {
    const answer = answers[Math.min(i++, answers.length - 1)] ?? 200;
    const [status, headers, text] = typeof answer === "number" ? [answer, {}, undefined] : answer;
    res.writeHead(status, headers);
    res.end(text ?? (status === 200 ? "ok" : "boom"));
  });
  servers.push(server);
  return server;
}

async function notifier() {
  t = await createTestEnv({ agents: { Notifier }, start: START });
  return t.get<Notifier>("Notifier", "n1");
}

function asRequest(received: Received): { headers: Record<string, string>; body: string } {
  return { headers: received.headers as Record<string, string>, body: received.body };
}

describe("sendWebhook", () => {
  it("delivers a signed webhook after the event, with its delivery id", async () => {
    const hook = await receiver(200);
    const n = await notifier();
    const id = await n.send({ url: `${hook.url}/runs`, body: { runId: "r1", status: "done" }, secret: SECRET }, { allowPrivate: true });
    await t!.clock.settle();
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    expect(request).toMatchObject({ method: "POST", url: "/runs", body: '{"runId":"r1","status":"done"}' });
    expect(request!.headers["content-type"]).toBe("application/json");
    const verified = await verifyWebhook(asRequest(request!), { style: "hmac", secret: SECRET, now: t!.clock.now().getTime() });
    expect(verified.deliveryId).toBe(id);
    expect(await n.status(id)).toMatchObject({ id, status: "delivered", attempts: 1, lastStatus: 200, createdAt: START });
  });

  it("retries a failing receiver with backoff and signs each attempt afresh", async () => {
    const hook = await receiver(503, 502, 200);
    const n = await notifier();
    // At least a second apart, so each attempt's signature carries another time.
    const id = await n.send({ url: hook.url, body: "plain text", secret: SECRET }, { allowPrivate: true, retry: { maxAttempts: 3, baseDelayMs: 2000, maxDelayMs: 2000 } });
    await t!.clock.settle();
    const waiting = await n.status(id);
    expect(waiting).toMatchObject({ status: "pending", attempts: 1, lastStatus: 503, lastError: "HTTP 503: boom" });
    expect(waiting!.nextAttemptAt! - START).toBeGreaterThanOrEqual(1000);
    await t!.clock.advance("2 seconds");
    await t!.clock.advance("2 seconds");
    expect(await n.status(id)).toMatchObject({ status: "delivered", attempts: 3 });
    expect(hook.received.map((r) => r.headers["x-hearth-delivery"])).toEqual([id, id, id]);
    expect(hook.received[0]!.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const stamps = hook.received.map((r) => String(r.headers["x-hearth-signature"]).split(",")[0]);
    expect(new Set(stamps).size).toBe(3);
  });

  it("makes a dead letter after the last attempt, and can retry or discard it", async () => {
    const hook = await receiver(500, 500, 500, 200);
    const n = await notifier();
    const id = await n.send({ url: hook.url, body: { alert: "CRITICAL" } }, FAST);
    await t!.clock.settle();
    await t!.clock.advance("1 second");
    await t!.clock.advance("1 second");
    const [letter] = await n.dead();
    expect(letter).toMatchObject({ id, status: "dead", attempts: 3, lastStatus: 500, lastError: "HTTP 500: boom (attempt 3 of 3)" });
    expect(hook.received).toHaveLength(3);
    expect(await n.retryLetter(id)).toBe(true);
    await t!.clock.settle();
    expect(await n.status(id)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(await n.dead()).toEqual([]);
    expect(await n.retryLetter(id)).toBe(false);
    expect(await n.discard(id)).toBe(false);
  });

  it("gives up at once on an answer no retry fixes, keeping the receiver's reason", async () => {
    const missing = await receiver([404, {}, "no_service"]);
    const redirecting = await receiver([302, { location: "http://10.0.0.1/" }]);
    const n = await notifier();
    const gone = await n.send({ style: "slack", url: missing.url, body: "hello" }, FAST);
    const moved = await n.send({ url: redirecting.url, body: {} }, FAST);
    await t!.clock.settle();
    expect(await n.status(gone)).toMatchObject({ status: "dead", attempts: 1, lastStatus: 404, lastError: "HTTP 404: no_service" });
    expect(await n.status(moved)).toMatchObject({ status: "dead", lastStatus: 302, lastError: "HTTP 302: boom (redirects are not followed)" });
    expect(await n.discard(gone)).toBe(true);
    expect((await n.dead()).map((d) => d.id)).toEqual([moved]);
  });

  it("reads only the start of a failed answer's body and hangs up on the rest", async () => {
    const full = 256 * 1024 * 1024;
    const stream = { written: 0, closed: false, ended: false };
    const server = await startServer(async (_req, res) => {
      res.on("close", () => (stream.closed = true));
      res.writeHead(500, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(64 * 1024, "x");
      while (stream.written < full && !stream.closed) {
        stream.written += chunk.length;
        if (!res.write(chunk)) await new Promise((resolve) => (res.once("drain", resolve), res.once("close", resolve)));
      }
      if (!stream.closed) res.end(() => (stream.ended = true));
    });
    servers.push(server);
    const n = await notifier();
    const id = await n.send({ url: server.url, body: {} }, { ...FAST, retry: { maxAttempts: 1 } });
    await t!.clock.settle();
    expect(await n.status(id)).toMatchObject({ status: "dead", attempts: 1, lastStatus: 500, lastError: `HTTP 500: ${"x".repeat(300)} (attempt 1 of 1)` });
    const deadline = Date.now() + 10_000;
    while (!stream.closed && !stream.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // The connection was closed while the server was still writing: most of the body was never sent.
    expect(stream).toMatchObject({ closed: true, ended: false });
    expect(stream.written).toBeLessThan(full / 4);
  });

  it("holds deliveries back while the receiver's circuit is open, unless the breaker is off", async () => {
    const hook = await receiver(500, 500, 200);
    const n = await notifier();
    const breaker = { failureThreshold: 2, coolDownMs: 60_000 };
    const first = await n.send({ url: hook.url, body: { n: 1 } }, { ...FAST, retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 }, circuitBreaker: breaker });
    await t!.clock.settle();
    await t!.clock.advance("10 ms");
    // Two failures opened the circuit: the third attempt is not sent and waits for the cool-down.
    await t!.clock.advance("10 ms");
    expect(hook.received).toHaveLength(2);
    const held = await n.status(first);
    expect(held).toMatchObject({ status: "pending", attempts: 3 });
    expect(held!.lastError).toMatch(/^Circuit for 127\.0\.0\.1:\d+ is open after 2 consecutive failures \(last: HTTP 500\)/);
    await t!.clock.advance("60 seconds");
    expect(await n.status(first)).toMatchObject({ status: "delivered", attempts: 4 });
    const unguarded = await n.send({ url: hook.url, body: { n: 2 } }, { ...FAST, circuitBreaker: false });
    await t!.clock.settle();
    expect(await n.status(unguarded)).toMatchObject({ status: "delivered" });
  });

  it("waits as long as Retry-After asks when that is longer than the backoff", async () => {
    const hook = await receiver([429, { "retry-after": "120" }], 200);
    const n = await notifier();
    const id = await n.send({ url: hook.url, body: {} }, FAST);
    await t!.clock.settle();
    expect(await n.status(id)).toMatchObject({ status: "pending", nextAttemptAt: START + 120_000 });
    await t!.clock.advance("119 seconds");
    expect(hook.received).toHaveLength(1);
    await t!.clock.advance("1 second");
    expect(await n.status(id)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("posts Slack messages as JSON { text, blocks }, unsigned", async () => {
    const hook = await receiver(200);
    const n = await notifier();
    await n.send({ style: "slack", url: hook.url, body: { text: "CRITICAL: disk full", blocks: [{ type: "divider" }] } }, FAST);
    await n.send({ style: "slack", url: hook.url, body: "just text" }, FAST);
    await t!.clock.settle();
    // Webhooks sent together are not ordered among themselves.
    const bodies = hook.received.map((r) => r.body).sort();
    expect(bodies.map((body) => JSON.parse(body) as unknown)).toEqual([{ text: "CRITICAL: disk full", blocks: [{ type: "divider" }] }, { text: "just text" }]);
    for (const request of hook.received) {
      expect(request.headers["x-hearth-signature"]).toBeUndefined();
      expect(request.headers["content-type"]).toBe("application/json");
    }
  });

  it("is part of the calling event: nothing is sent when it fails, and an id is sent once", async () => {
    const hook = await receiver(200);
    const n = await notifier();
    await expect(n.sendThenFail({ url: hook.url, body: {} }, FAST)).rejects.toThrow("the event failed after recording");
    await n.send({ url: hook.url, body: { once: true } }, { ...FAST, id: "run-7:critical" });
    await n.send({ url: hook.url, body: { once: true } }, { ...FAST, id: "run-7:critical" });
    await t!.clock.settle();
    expect(hook.received.map((r) => r.headers["x-hearth-delivery"])).toEqual(["run-7:critical"]);
  });

  it("refuses private addresses unless allowed: a literal at once, a name when sent", async () => {
    const hook = await receiver(200);
    const n = await notifier();
    const refused = await n.send({ url: `${hook.url}/x`, body: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OutboundAddressError);
    expect((refused as Error).message).toBe(
      `Outbound request to ${hook.url} refused: 127.0.0.1 is a loopback address (127.0.0.0/8); allow it with allowPrivate: true or allowHosts: ["127.0.0.1"]`,
    );
    const byName = await n.send({ url: `http://localhost:${hook.port}/x`, body: {} });
    await t!.clock.settle();
    const letter = await n.status(byName);
    expect(letter).toMatchObject({ status: "dead", attempts: 1 });
    expect(letter!.lastError).toMatch(/^Outbound request to http:\/\/localhost:\d+ refused: "localhost" resolves to (127\.0\.0\.1|::1), a loopback address/);
    await n.send({ url: `${hook.url}/ok`, body: {} }, { allowHosts: ["127.0.0.1"] });
    await t!.clock.settle();
    expect(hook.received.map((r) => r.url)).toEqual(["/ok"]);
  });

  it("checks what it is given, naming the limit", async () => {
    const n = await notifier();
    const url = "https://hooks.example.com/x";
    await expect(n.send({ url: "hooks.example.com", body: {} })).rejects.toThrow("sendWebhook: `url` must be an absolute http(s) URL");
    await expect(n.send({ url: "ftp://hooks.example.com", body: {} })).rejects.toThrow('sendWebhook: `url` must be http: or https:, got "ftp:"');
    await expect(n.send({ url, body: "x".repeat(1024 * 1024 + 1) })).rejects.toThrow(
      "sendWebhook: the body is 1048577 bytes; the limit is 1048576 (MAX_OUTBOUND_BODY_BYTES)",
    );
    await expect(n.send({ url, body: undefined })).rejects.toThrow("sendWebhook: the body must be JSON-serialisable, a string or bytes");
    await expect(n.send({ url, body: {}, headers: { "x-big": "y".repeat(17_000) } })).rejects.toThrow(/^sendWebhook: the headers are \d+ bytes of JSON; the limit is 16384$/);
    await expect(n.send({ url, body: {}, secret: "" })).rejects.toThrow("sendWebhook: secret must be a non-empty string");
    await expect(n.send({ style: "slack", url, body: { blocks: [] } as never })).rejects.toThrow("sendWebhook: a slack message is a string or { text, blocks? }");
    await expect(n.send({ url, body: {} }, { timeoutMs: 0 })).rejects.toThrow("sendWebhook: timeoutMs must be a number of milliseconds from 1 to 600000, got 0");
    await expect(n.send({ url, body: {} }, { id: "" })).rejects.toThrow("sendWebhook: `id` must be a string of 1-256 characters");
    await expect(n.send({ url, body: {} }, { retry: { maxAttempts: 0 } })).rejects.toThrow("retry.maxAttempts must be >= 1, got 0");
    await expect(n.send({ url, body: {} }, { circuitBreaker: { coolDownMs: -1 } })).rejects.toThrow("circuitBreaker.coolDownMs must be a finite number >= 0, got -1");
    await expect(n.send({ style: "teams" as "slack", url, body: "x" })).rejects.toThrow('sendWebhook: style must be "hearth" or "slack", got "teams"');
  });

  it("refuses headers fetch cannot send and a URL holding credentials, naming the header and never its value", async () => {
    const n = await notifier();
    const url = "https://hooks.example.com/x";
    await expect(n.send({ url, body: {}, headers: { "x-token": "abc\nInjected: yes" } })).rejects.toThrow(
      'sendWebhook: header "x-token" is not valid: its value holds a line break, a NUL or a character past U+00FF',
    );
    await expect(n.send({ url, body: {}, headers: { "x token": "abc" } })).rejects.toThrow(
      "sendWebhook: header \"x token\" is not valid: a header name is letters, digits and !#$%&'*+-.^_`|~ only",
    );
    await expect(n.send({ url, body: {}, headers: { "Transfer-Encoding": "chunked" } })).rejects.toThrow(
      'sendWebhook: header "Transfer-Encoding" is not valid: the HTTP client sets it itself',
    );
    await expect(n.send({ url, body: {}, headers: { "x-n": 5 as unknown as string } })).rejects.toThrow('sendWebhook: header "x-n" must be a string');
    await expect(n.send({ url: "https://user:hunter2@hooks.example.com/x", body: {} })).rejects.toThrow(
      "sendWebhook: `url` must not hold credentials (user:password@); send them in a header, e.g. headers: { authorization: … }",
    );
    const error = await n.send({ url, body: {}, headers: { authorization: "Bearer secret-token\r\nX-Injected: 1" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('sendWebhook: header "authorization" is not valid: its value holds a line break, a NUL or a character past U+00FF');
  });

  it("makes a dead letter of a recorded webhook fetch cannot send, rather than leaving it pending", async () => {
    const hook = await receiver(200);
    const n = await notifier();
    const badHeader = await n.sendAsRecordedBefore({ url: hook.url, body: {} }, FAST, { headers: JSON.stringify({ "x-token": "a\nb" }) });
    const badName = await n.sendAsRecordedBefore({ url: hook.url, body: {} }, FAST, { headers: JSON.stringify({ "x token": "a" }) });
    const withCredentials = await n.sendAsRecordedBefore({ url: hook.url, body: {} }, FAST, { url: `http://user:pw@127.0.0.1:${hook.port}/x` });
    await t!.clock.settle();
    expect(await n.status(badHeader)).toMatchObject({
      status: "dead",
      attempts: 1,
      lastError: 'The webhook cannot be sent: header "x-token" is not valid: its value holds a line break, a NUL or a character past U+00FF',
    });
    expect(await n.status(badName)).toMatchObject({ status: "dead", attempts: 1, lastError: expect.stringContaining('header "x token" is not valid') as unknown });
    expect(await n.status(withCredentials)).toMatchObject({
      status: "dead",
      attempts: 1,
      lastError: "The webhook cannot be sent: its URL holds credentials (user:password@), which fetch does not send",
    });
    expect(hook.received).toHaveLength(0);
    // Nothing of it is pending any more: it no longer counts toward MAX_PENDING_WEBHOOKS.
    expect((await n.dead()).map((letter) => letter.id).sort()).toEqual([badHeader, badName, withCredentials].sort());
  });

  it("refuses more than MAX_PENDING_WEBHOOKS pending deliveries", { timeout: 60_000 }, async () => {
    const n = await notifier();
    await n.sendMany("https://hooks.example.com/x", 10_000);
    await expect(n.sendMany("https://hooks.example.com/x", 1)).rejects.toThrow(
      "sendWebhook: 10000 webhooks are already pending on this agent (MAX_PENDING_WEBHOOKS); the receiver is not keeping up",
    );
  });
});
