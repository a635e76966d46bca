import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { AGENT_RUNTIME } from "../../src/agent/agent-base.ts";
import type { AgentRuntime } from "../../src/agent/runtime.ts";
import { listDeliveries, resolveRetention } from "../../src/integrations/delivery-log.ts";
import { handleWebhook, type HandleWebhookOptions } from "../../src/integrations/inbound.ts";
import { signWebhook, type WebhookStyle } from "../../src/integrations/webhook-signature.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const SECRET = "inbound-secret";
const START = Date.parse("2025-03-01T12:00:00Z");

/** What the test controls about the hook: its options, and a gate onDelivery may wait at. */
const control: {
  options: Partial<HandleWebhookOptions>;
  gate: Promise<void> | undefined;
  fail: boolean;
} = { options: {}, gate: undefined, fail: false };

class Hooks extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS acted (delivery TEXT, payload TEXT)`;
  }
  async onRequest(request: Request): Promise<Response> {
    const style = (new URL(request.url).searchParams.get("style") ?? "hmac") as WebhookStyle;
    return handleWebhook(this, request, {
      style,
      secret: SECRET,
      onDelivery: async (payload, { deliveryId }) => {
        this.sql`INSERT INTO acted VALUES (${deliveryId}, ${JSON.stringify(payload)})`;
        if (control.gate) await control.gate;
        if (control.fail) throw new Error("the team could not start");
      },
      ...control.options,
    });
  }
  acted() {
    return this.sql<{ delivery: string; payload: string }>`SELECT delivery, payload FROM acted`;
  }
  deliveries() {
    return listDeliveries(this.#db());
  }
  /** The delivery log as an earlier version made it, without the signature column. */
  makeOldDeliveryLog(receivedAt: number) {
    this.#db().execScript(`CREATE TABLE _hearth_webhook_deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, delivery_id TEXT NOT NULL, received_at INTEGER NOT NULL,
      UNIQUE (source, delivery_id)
    )`);
    this.#db().statement("INSERT INTO _hearth_webhook_deliveries (source, delivery_id, received_at) VALUES ('hmac', 'old-1', ?)").run(receivedAt);
  }
  #db() {
    return (this as unknown as { [AGENT_RUNTIME]: AgentRuntime })[AGENT_RUNTIME].db;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  control.options = {};
  control.gate = undefined;
  control.fail = false;
});

async function env(): Promise<TestEnv> {
  t = await createTestEnv({ agents: { Hooks }, start: START });
  return t;
}

function post(body: string, headers: Record<string, string>, style: WebhookStyle = "hmac", name = "h1"): Promise<Response> {
  return t!.fetch(`/agents/hooks/${name}?style=${style}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

const nowSeconds = () => Math.floor(t!.clock.now().getTime() / 1000);

describe("handleWebhook", () => {
  it("acts on a delivery once; a replay is answered 200 duplicate and not acted on again", async () => {
    await env();
    const body = JSON.stringify({ action: "opened" });
    const headers = signWebhook(body, { style: "github", secret: SECRET, deliveryId: "gh-1" });
    const first = await post(body, headers, "github");
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, deliveryId: "gh-1" });
    const replay = await post(body, headers, "github");
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ok: true, duplicate: true, deliveryId: "gh-1" });
    const hooks = t!.get<Hooks>("Hooks", "h1");
    expect(await hooks.acted()).toEqual([{ delivery: "gh-1", payload: '{"action":"opened"}' }]);
    expect(await hooks.deliveries()).toEqual([{ source: "github", deliveryId: "gh-1", receivedAt: START }]);
  });

  it("refuses a replay whose unsigned delivery header was changed, and still takes a new delivery", async () => {
    await env();
    const body = JSON.stringify({ deploy: "prod" });
    const headers = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-1" });
    expect(await (await post(body, headers)).json()).toEqual({ ok: true, deliveryId: "d-1" });
    // The same signed request with another X-Hearth-Delivery: the signature is the same, so it is the same delivery.
    const replay = await post(body, { ...headers, "X-Hearth-Delivery": "d-2" });
    expect(await replay.json()).toEqual({ ok: true, duplicate: true, deliveryId: "d-2" });
    // The sender's own retry signs afresh (a new time) and keeps the id: caught by the id.
    await t!.clock.advance("10 seconds");
    const retry = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-1" });
    expect(await (await post(body, retry)).json()).toEqual({ ok: true, duplicate: true, deliveryId: "d-1" });
    // A genuine new delivery, even with the same body, is acted on.
    const next = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-3" });
    expect(await (await post(body, next)).json()).toEqual({ ok: true, deliveryId: "d-3" });
    expect((await t!.get<Hooks>("Hooks", "h1").acted()).map((row) => row.delivery)).toEqual(["d-1", "d-3"]);
  });

  it("refuses a replay with a made-up signature put before the real one, when the id comes from the signature", async () => {
    await env();
    const body = JSON.stringify({ command: "restart" });
    const { "X-Hearth-Signature": signature } = signWebhook(body, { secret: SECRET, timestamp: nowSeconds() });
    const real = signature!.split("v1=")[1]!;
    const first = await post(body, { "X-Hearth-Signature": signature! });
    expect(await first.json()).toEqual({ ok: true, deliveryId: `sig:${real}` });
    const [t0, v1] = signature!.split(",");
    for (const forged of [`${t0},v1=${"ab".repeat(32)},${v1}`, `${t0},v1=${"cd".repeat(32)},${v1!.toUpperCase().replace("V1=", "v1=")}`]) {
      const replay = await post(body, { "X-Hearth-Signature": forged });
      expect(await replay.json()).toEqual({ ok: true, duplicate: true, deliveryId: `sig:${real}` });
    }
    expect(await t!.get<Hooks>("Hooks", "h1").acted()).toHaveLength(1);
  });

  it("refuses a replay keeping only one of the sender's valid signatures, during a rotation", async () => {
    await env();
    control.options = { secret: ["old-secret", "new-secret"] };
    const body = JSON.stringify({ rotated: true });
    const t0 = nowSeconds();
    const sign = (secret: string) => signWebhook(body, { secret, timestamp: t0 })["X-Hearth-Signature"]!.split(",")[1]!;
    const both = { "X-Hearth-Signature": `t=${t0},${sign("old-secret")},${sign("new-secret")}`, "X-Hearth-Delivery": "r-1" };
    expect(await (await post(body, both)).json()).toEqual({ ok: true, deliveryId: "r-1" });
    for (const kept of ["old-secret", "new-secret"]) {
      const replay = await post(body, { "X-Hearth-Signature": `t=${t0},${sign(kept)}`, "X-Hearth-Delivery": `r-${kept}` });
      expect(await replay.json()).toMatchObject({ duplicate: true });
    }
    expect(await t!.get<Hooks>("Hooks", "h1").acted()).toHaveLength(1);
  });

  it("refuses a GitHub replay with another X-GitHub-Delivery, however late (GitHub signs no time)", async () => {
    await env();
    const body = JSON.stringify({ action: "opened", number: 7 });
    const headers = signWebhook(body, { style: "github", secret: SECRET, deliveryId: "gh-1" });
    expect(await (await post(body, headers, "github")).json()).toEqual({ ok: true, deliveryId: "gh-1" });
    await t!.clock.advance("2 days");
    const replay = await post(body, { ...headers, "X-GitHub-Delivery": "gh-forged" }, "github");
    expect(await replay.json()).toEqual({ ok: true, duplicate: true, deliveryId: "gh-forged" });
    const other = JSON.stringify({ action: "closed", number: 7 });
    expect(await (await post(other, signWebhook(other, { style: "github", secret: SECRET, deliveryId: "gh-2" }), "github")).json()).toEqual({
      ok: true,
      deliveryId: "gh-2",
    });
    expect((await t!.get<Hooks>("Hooks", "h1").acted()).map((row) => row.delivery)).toEqual(["gh-1", "gh-2"]);
  });

  it("refuses a copy with another delivery header while the first is still being acted on", async () => {
    await env();
    let open!: () => void;
    control.gate = new Promise<void>((resolve) => (open = resolve));
    const body = JSON.stringify({ n: 3 });
    const headers = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-a" });
    const first = post(body, headers);
    const hooks = t!.get<Hooks>("Hooks", "h1");
    while ((await hooks.acted()).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const copy = post(body, { ...headers, "X-Hearth-Delivery": "d-b" });
    open();
    expect(await (await first).json()).toEqual({ ok: true, deliveryId: "d-a" });
    expect(await (await copy).json()).toEqual({ ok: true, duplicate: true, deliveryId: "d-b" });
    expect(await hooks.acted()).toHaveLength(1);
  });

  it("keeps the delivery log of an earlier version, adding the signature column on the next record", async () => {
    await env();
    const hooks = t!.get<Hooks>("Hooks", "h1");
    await hooks.makeOldDeliveryLog(START);
    const old = await post("{}", signWebhook("{}", { secret: SECRET, timestamp: nowSeconds(), deliveryId: "old-1" }));
    expect(await old.json()).toEqual({ ok: true, duplicate: true, deliveryId: "old-1" });
    const headers = signWebhook("{}", { secret: SECRET, timestamp: nowSeconds(), deliveryId: "new-1" });
    expect(await (await post("{}", headers)).json()).toEqual({ ok: true, deliveryId: "new-1" });
    expect(await (await post("{}", { ...headers, "X-Hearth-Delivery": "new-2" })).json()).toMatchObject({ duplicate: true });
    expect((await hooks.deliveries()).map((d) => d.deliveryId)).toEqual(["new-1", "old-1"]);
  });

  it("refuses a bad signature with 401 and the reason, acting on nothing", async () => {
    await env();
    const body = JSON.stringify({ x: 1 });
    const headers = signWebhook(body, { secret: "not the secret", timestamp: nowSeconds() });
    const response = await post(body, headers);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: "Webhook refused: the X-Hearth-Signature signature does not match the body (hmac style; check the secret, and that the raw body is verified unchanged)",
      reason: "bad-signature",
    });
    const missing = await post(body, {});
    expect(await missing.json()).toMatchObject({ reason: "missing-header", error: "Webhook refused: missing the X-Hearth-Signature header (hmac style)" });
    expect(await t!.get<Hooks>("Hooks", "h1").acted()).toEqual([]);
  });

  it("refuses a timestamp outside the tolerance by the agent's clock", async () => {
    await env();
    const body = "{}";
    const headers = signWebhook(body, { secret: SECRET, timestamp: nowSeconds() });
    await t!.clock.advance("6 minutes");
    const response = await post(body, headers);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      reason: "timestamp-outside-tolerance",
      error: `Webhook refused: its timestamp ${START / 1000} is 360 s old, outside the tolerance of 300 s (toleranceSeconds)`,
    });
  });

  it("answers 400 for a body that is not JSON, 413 over maxBodyBytes, 405 for a GET", async () => {
    await env();
    const bad = "{nope";
    const badResponse = await post(bad, signWebhook(bad, { secret: SECRET, timestamp: nowSeconds() }));
    expect(badResponse.status).toBe(400);
    expect(((await badResponse.json()) as { error: string }).error).toMatch(/^Webhook refused: the body is not valid JSON \(/);

    control.options = { maxBodyBytes: 100 };
    const big = JSON.stringify({ text: "x".repeat(200) });
    const bigResponse = await post(big, signWebhook(big, { secret: SECRET, timestamp: nowSeconds() }));
    expect(bigResponse.status).toBe(413);
    expect(await bigResponse.json()).toEqual({ error: `Webhook refused: the body is ${big.length} bytes; the limit is 100 (maxBodyBytes)` });

    const get = await t!.fetch("/agents/hooks/h1");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toEqual({ error: "Webhook refused: method GET; webhooks are POSTed" });

    const longId = "d".repeat(257);
    const longResponse = await post("{}", signWebhook("{}", { secret: SECRET, timestamp: nowSeconds(), deliveryId: longId }));
    expect(longResponse.status).toBe(400);
    expect(await longResponse.json()).toEqual({ error: "Webhook refused: the delivery id is 257 characters; the limit is 256" });
    expect(await t!.get<Hooks>("Hooks", "h1").acted()).toEqual([]);
  });

  it("records nothing when onDelivery throws (500), so the sender's retry acts on it", async () => {
    await env();
    const body = JSON.stringify({ n: 1 });
    const headers = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-fail" });
    control.fail = true;
    expect((await post(body, headers)).status).toBe(500);
    const hooks = t!.get<Hooks>("Hooks", "h1");
    expect(await hooks.acted()).toEqual([]); // its writes were rolled back with the failed event
    expect(await hooks.deliveries()).toEqual([]);
    control.fail = false;
    expect(await (await post(body, headers)).json()).toEqual({ ok: true, deliveryId: "d-fail" });
    expect(await hooks.acted()).toHaveLength(1);
  });

  it("acts once when copies of a delivery arrive while the first is still being acted on", async () => {
    await env();
    let open!: () => void;
    control.gate = new Promise<void>((resolve) => (open = resolve));
    const body = JSON.stringify({ n: 2 });
    const headers = signWebhook(body, { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d-race" });
    const first = post(body, headers);
    const second = post(body, headers);
    const hooks = t!.get<Hooks>("Hooks", "h1");
    while ((await hooks.acted()).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    open();
    const answers = await Promise.all([first, second].map(async (r) => (await r).json()));
    expect(answers).toContainEqual({ ok: true, deliveryId: "d-race" });
    expect(answers).toContainEqual({ ok: true, duplicate: true, deliveryId: "d-race" });
    expect(await hooks.acted()).toHaveLength(1);
  });

  it("forgets delivery ids past the retention, by rows and by age", async () => {
    await env();
    control.options = { retention: { maxRows: 2, days: 1 } };
    const hooks = t!.get<Hooks>("Hooks", "h1");
    for (const id of ["a", "b", "c"]) await post(`"${id}"`, signWebhook(`"${id}"`, { secret: SECRET, timestamp: nowSeconds(), deliveryId: id }));
    expect((await hooks.deliveries()).map((d) => d.deliveryId)).toEqual(["c", "b"]);
    await t!.clock.advance("25 hours");
    await post("{}", signWebhook("{}", { secret: SECRET, timestamp: nowSeconds(), deliveryId: "d" }));
    expect((await hooks.deliveries()).map((d) => d.deliveryId)).toEqual(["d"]);
    expect(() => resolveRetention({ days: 0 })).toThrow("retention.days must be a number > 0, got 0");
    expect(() => resolveRetention({ maxRows: 1.5 })).toThrow("retention.maxRows must be an integer >= 1, got 1.5");
  });

  it("answers Slack's url_verification with its challenge and reads Slack forms", async () => {
    await env();
    const handshake = JSON.stringify({ type: "url_verification", challenge: "3eZbrw1aB" });
    const answer = await post(handshake, signWebhook(handshake, { style: "slack", secret: SECRET, timestamp: nowSeconds() }), "slack");
    expect(await answer.json()).toEqual({ challenge: "3eZbrw1aB" });
    const form = "command=%2Fdeploy&text=prod";
    const headers = { ...signWebhook(form, { style: "slack", secret: SECRET, timestamp: nowSeconds() }), "content-type": "application/x-www-form-urlencoded" };
    const response = await t!.fetch("/agents/hooks/h1?style=slack", { method: "POST", headers, body: form });
    expect(response.status).toBe(200);
    expect((await t!.get<Hooks>("Hooks", "h1").acted()).map((row) => row.payload)).toEqual(['{"command":"/deploy","text":"prod"}']);
  });
});
