import { describe, expect, it } from "vitest";
import { assertPublicDestination, assertPublicLiteral } from "../../src/integrations/address-guard.ts";
import { handleWebhook } from "../../src/integrations/inbound.ts";
import { sendWebhook } from "../../src/integrations/outbound.ts";
import { createTestEnv } from "../../src/testing/index.ts";
import { Agent } from "../../src/index.ts";

class Plain extends Agent {
  handleWithoutHandler() {
    return handleWebhook(this, new Request("http://x/", { method: "POST" }), { style: "github", secret: "s", onDelivery: undefined as never });
  }
  sendWithBadHeader() {
    return sendWebhook(this, { url: "https://hooks.example.com/", body: {}, headers: { "x-n": 1 as unknown as string } });
  }
}

describe("misuse", () => {
  it("names what is wrong when called outside an agent or with the wrong types", async () => {
    await expect(handleWebhook({}, new Request("http://x/", { method: "POST" }), { style: "github", secret: "s", onDelivery: () => undefined })).rejects.toThrow(
      "Webhooks belong to an agent: pass `this` from an Agent's method",
    );
    expect(() => sendWebhook({}, { url: "https://hooks.example.com/", body: {} })).toThrow("Webhooks belong to an agent: pass `this` from an Agent's method");
    await expect(assertPublicDestination("https://8.8.8.8/", { allowHosts: "10.0.0.1" as unknown as string[] })).rejects.toThrow(
      "allowHosts must be an array of host names, addresses or CIDR ranges",
    );
    await expect(assertPublicDestination("https://empty.example/", { lookup: async () => [] })).rejects.toThrow(
      'Outbound request to https://empty.example failed: "empty.example" resolves to no address',
    );
    expect(() => assertPublicLiteral("http://10.0.0.5/hook")).toThrow("10.0.0.5 is a private address (10.0.0.0/8)");
    expect(() => assertPublicLiteral("http://hooks.internal/hook")).not.toThrow(); // a name waits for DNS
  });

  it("refuses a handler that is not a function and a header that is not a string", async () => {
    const t = await createTestEnv({ agents: { Plain } });
    try {
      const plain = t.get<Plain>("Plain", "p");
      await expect(plain.handleWithoutHandler()).rejects.toThrow("handleWebhook: onDelivery must be a function");
      await expect(plain.sendWithBadHeader()).rejects.toThrow('sendWebhook: header "x-n" must be a string');
    } finally {
      await t.close();
    }
  });
});
