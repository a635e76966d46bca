import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  signWebhook,
  verifyWebhook,
  WebhookRequestError,
  WebhookSignatureError,
  type WebhookStyle,
} from "../../src/integrations/webhook-signature.ts";

const NOW = Date.parse("2025-03-01T12:00:00Z");
const T = NOW / 1000;
const SECRET = "whsec_test";

function request(body: string, headers: Record<string, string>): Request {
  return new Request("http://localhost/hook", { method: "POST", headers, body });
}

describe("verifyWebhook", () => {
  it("accepts GitHub's documented example signature and reads X-GitHub-Delivery", async () => {
    // From GitHub's "Validating webhook deliveries" page: secret, payload and the expected digest.
    const verified = await verifyWebhook(
      {
        headers: {
          "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
          "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        },
        body: "Hello, World!",
      },
      { style: "github", secret: "It's a Secret to Everybody" },
    );
    expect(verified.deliveryId).toBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect(verified.timestamp).toBeUndefined();
    expect(Buffer.from(verified.body).toString()).toBe("Hello, World!");
  });

  it("verifies Stripe's scheme: any v1 may match, other schemes are ignored, the id comes from the event", async () => {
    const body = JSON.stringify({ id: "evt_123", type: "invoice.paid" });
    const good = createHmac("sha256", SECRET).update(`${T}.${body}`).digest("hex");
    const header = `t=${T},v1=${"0".repeat(64)},v1=${good},v0=${"f".repeat(64)}`;
    const verified = await verifyWebhook(request(body, { "Stripe-Signature": header }), { style: "stripe", secret: SECRET, now: NOW });
    expect(verified).toMatchObject({ deliveryId: "evt_123", timestamp: T });
  });

  it("returns the signature that matched, and takes the id from it when the sender gives none, whatever else the header lists", async () => {
    const body = JSON.stringify({ n: 1 });
    const real = createHmac("sha256", SECRET).update(`${T}.${body}`).digest("hex");
    for (const header of [`t=${T},v1=${real}`, `t=${T},v1=${"ab".repeat(32)},v1=${real}`, `t=${T},v1=${"0".repeat(64)},v1=${real.toUpperCase()},v1=zz`]) {
      const verified = await verifyWebhook({ headers: { "X-Hearth-Signature": header }, body }, { style: "hmac", secret: SECRET, now: NOW });
      expect(verified).toMatchObject({ deliveryId: `sig:${real}`, signature: real });
    }
    const github = signWebhook(body, { style: "github", secret: SECRET, deliveryId: "gh-1" });
    const verified = await verifyWebhook({ headers: github, body }, { style: "github", secret: ["other", SECRET] });
    expect(verified).toMatchObject({ deliveryId: "gh-1", signature: github["X-Hub-Signature-256"]!.slice("sha256=".length) });
  });

  it("verifies Slack's v0 scheme and takes event_id, or the signature when there is none", async () => {
    const body = JSON.stringify({ type: "event_callback", event_id: "Ev01" });
    const headers = signWebhook(body, { style: "slack", secret: SECRET, timestamp: T });
    expect(headers["X-Slack-Signature"]).toBe(`v0=${createHmac("sha256", SECRET).update(`v0:${T}:${body}`).digest("hex")}`);
    expect((await verifyWebhook({ headers, body }, { style: "slack", secret: SECRET, now: NOW })).deliveryId).toBe("Ev01");
    const form = "command=%2Fdeploy&text=prod";
    const formHeaders = signWebhook(form, { style: "slack", secret: SECRET, timestamp: T });
    const verified = await verifyWebhook({ headers: formHeaders, body: form }, { style: "slack", secret: SECRET, now: NOW });
    expect(verified.deliveryId).toBe(`sig:${formHeaders["X-Slack-Signature"]!.slice(3)}`);
  });

  it("round-trips every style through signWebhook, with a secret list during a rotation", async () => {
    for (const style of ["hmac", "github", "stripe", "slack"] as WebhookStyle[]) {
      const body = JSON.stringify({ id: "evt_9", event_id: "Ev9", n: style });
      const headers = signWebhook(body, { style, secret: "new", timestamp: T, deliveryId: "d-9" });
      const verified = await verifyWebhook(request(body, headers), { style, secret: ["old", "new"], now: NOW });
      expect(verified.deliveryId).toBe({ hmac: "d-9", github: "d-9", stripe: "evt_9", slack: "Ev9" }[style]);
    }
  });

  it("verifies the raw bytes: a body re-serialised differently fails", async () => {
    const body = '{"a": 1}';
    const headers = signWebhook(body, { secret: SECRET, timestamp: T });
    await expect(verifyWebhook({ headers, body: '{"a":1}' }, { style: "hmac", secret: SECRET, now: NOW })).rejects.toThrow(
      "Webhook refused: the X-Hearth-Signature signature does not match the body (hmac style; check the secret, and that the raw body is verified unchanged)",
    );
    const bytes = new TextEncoder().encode(body);
    await expect(verifyWebhook({ headers, body: bytes.buffer }, { style: "hmac", secret: SECRET, now: NOW })).resolves.toMatchObject({ timestamp: T });
  });

  it("refuses a wrong secret, a missing header and malformed headers with status 401 and a reason", async () => {
    const body = "{}";
    const wrong = await verifyWebhook({ headers: signWebhook(body, { style: "github", secret: "other" }), body }, { style: "github", secret: SECRET }).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(WebhookSignatureError);
    expect(wrong).toMatchObject({ status: 401, reason: "bad-signature" });

    await expect(verifyWebhook({ headers: {}, body }, { style: "github", secret: SECRET })).rejects.toThrow(
      "Webhook refused: missing the X-Hub-Signature-256 header (github style)",
    );
    await expect(verifyWebhook({ headers: { "x-slack-signature": "v0=00" }, body }, { style: "slack", secret: SECRET })).rejects.toThrow(
      "Webhook refused: missing the X-Slack-Request-Timestamp header (slack style)",
    );
    await expect(verifyWebhook({ headers: { "X-Hub-Signature-256": "sha1=abc" }, body }, { style: "github", secret: SECRET })).rejects.toThrow(
      'Webhook refused: the X-Hub-Signature-256 header does not start with "sha256="',
    );
    await expect(verifyWebhook({ headers: { "X-Slack-Signature": "v1=abc", "X-Slack-Request-Timestamp": "1" }, body }, { style: "slack", secret: SECRET })).rejects.toThrow(
      'Webhook refused: the X-Slack-Signature header does not start with "v0="',
    );
    await expect(verifyWebhook({ headers: { "Stripe-Signature": "v1=abc" }, body }, { style: "stripe", secret: SECRET })).rejects.toThrow(
      "Webhook refused: the Stripe-Signature header has no t=<unix time> field",
    );
    await expect(verifyWebhook({ headers: { "Stripe-Signature": `t=${T}` }, body }, { style: "stripe", secret: SECRET })).rejects.toThrow(
      "Webhook refused: the Stripe-Signature header has no v1=<signature> field",
    );
    await expect(verifyWebhook({ headers: { "X-Hearth-Signature": "t=soon,v1=ab" }, body }, { style: "hmac", secret: SECRET })).rejects.toThrow(
      'Webhook refused: the X-Hearth-Signature header has a timestamp that is not Unix seconds: "soon"',
    );
  });

  it("refuses a signature header of more than 16 fields before computing any signature; 16 are read", async () => {
    const body = JSON.stringify({ id: "evt_1" });
    const good = createHmac("sha256", SECRET).update(`${T}.${body}`).digest("hex");
    const fifteenWrong = Array.from({ length: 14 }, (_, i) => `v1=${String(i).padStart(64, "0")}`).join(",");
    const sixteen = `t=${T},${fifteenWrong},v1=${good}`;
    expect(sixteen.split(",")).toHaveLength(16);
    expect(await verifyWebhook({ headers: { "Stripe-Signature": sixteen }, body }, { style: "stripe", secret: SECRET, now: NOW })).toMatchObject({ deliveryId: "evt_1" });
    for (const header of [`${sixteen},v1=00`, `t=${T},${"v1=0,".repeat(25_000)}v1=${good}`]) {
      const refused = await verifyWebhook({ headers: { "Stripe-Signature": header }, body }, { style: "stripe", secret: SECRET, now: NOW }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 401, reason: "malformed-header", message: "Webhook refused: the Stripe-Signature header has more than 16 fields (MAX_SIGNATURE_FIELDS)" });
    }
  });

  it("refuses a timestamp outside the tolerance, either way, after checking the signature", async () => {
    const body = "{}";
    const old = signWebhook(body, { secret: SECRET, timestamp: T - 301 });
    const error = await verifyWebhook({ headers: old, body }, { style: "hmac", secret: SECRET, now: NOW }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "timestamp-outside-tolerance", status: 401 });
    expect((error as Error).message).toBe(`Webhook refused: its timestamp ${T - 301} is 301 s old, outside the tolerance of 300 s (toleranceSeconds)`);
    const future = signWebhook(body, { style: "slack", secret: SECRET, timestamp: T + 120 });
    await expect(verifyWebhook({ headers: future, body }, { style: "slack", secret: SECRET, now: NOW, toleranceSeconds: 60 })).rejects.toThrow(
      `its timestamp ${T + 120} is 120 s in the future, outside the tolerance of 60 s (toleranceSeconds)`,
    );
    await expect(verifyWebhook({ headers: old, body }, { style: "hmac", secret: SECRET, now: NOW, toleranceSeconds: 301 })).resolves.toBeDefined();
    // A forged request with a stale time is refused for its signature.
    await expect(verifyWebhook({ headers: old, body: "{ }" }, { style: "hmac", secret: SECRET, now: NOW })).rejects.toMatchObject({ reason: "bad-signature" });
  });

  it("refuses a stripe body without an event id (400) and a body over maxBodyBytes (413)", async () => {
    const body = "not json";
    const headers = signWebhook(body, { style: "stripe", secret: SECRET, timestamp: T });
    const error = await verifyWebhook({ headers, body }, { style: "stripe", secret: SECRET, now: NOW }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookRequestError);
    expect(error).toMatchObject({ status: 400, message: 'Webhook refused: a stripe-style body must be a JSON event with a string "id"' });

    const big = "x".repeat(2000);
    const signed = signWebhook(big, { secret: SECRET, timestamp: T });
    // A declared length over the limit is refused before reading.
    await expect(verifyWebhook(request(big, { ...signed, "content-length": "2000" }), { style: "hmac", secret: SECRET, now: NOW, maxBodyBytes: 1000 })).rejects.toThrow(
      "Webhook refused: the body is 2000 bytes; the limit is 1000 (maxBodyBytes)",
    );
    // Streamed without a length: stopped once past the limit.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = new Request("http://localhost/hook", { method: "POST", headers: signed, body: stream, duplex: "half" } as RequestInit);
    await expect(verifyWebhook(chunked, { style: "hmac", secret: SECRET, now: NOW, maxBodyBytes: 1000 })).rejects.toMatchObject({
      status: 413,
      message: "Webhook refused: the body is more than 1000 bytes; the limit is 1000 (maxBodyBytes)",
    });
  });

  it("checks its options", async () => {
    await expect(verifyWebhook({ headers: {}, body: "" }, { style: "hmac", secret: "" })).rejects.toThrow(
      "webhook secret must be a non-empty string (or a list of them, during a rotation)",
    );
    await expect(verifyWebhook({ headers: {}, body: "" }, { style: "svix" as WebhookStyle, secret: "s" })).rejects.toThrow(
      'webhook style must be one of hmac, github, stripe, slack, got "svix"',
    );
    const headers = signWebhook("", { secret: "s" });
    await expect(verifyWebhook({ headers, body: "" }, { style: "hmac", secret: "s", toleranceSeconds: -1 })).rejects.toThrow(
      "toleranceSeconds must be a number >= 0, got -1",
    );
  });
});
