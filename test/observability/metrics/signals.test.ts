import { convertToModelMessages, streamText } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgent, type ChatFinishCallback } from "../../../src/chat/index.ts";
import { Agent } from "../../../src/index.ts";
import { createHearthMetrics, type HearthMetrics } from "../../../src/observability/metrics/index.ts";
import { reportModelUsage } from "../../../src/agent/signals.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { scriptedModel, textStream, usage } from "../../chat/helpers.ts";
import { parsePrometheusText, valueOf } from "./prom-text.ts";

const model = scriptedModel(textStream("fine thanks", usage(800, 95)));

class Helpdesk extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback) {
    return streamText({ model, messages: await convertToModelMessages(this.messages), onFinish }).toUIMessageStreamResponse();
  }
  async ask(text: string): Promise<void> {
    await this.saveMessages([...this.messages, { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] }]);
  }
}

class Reminder extends Agent {
  later(seconds: number) {
    return this.schedule(seconds, "ring", {});
  }
  ring() {}
}

let t: TestEnv | undefined;
let metrics: HearthMetrics | undefined;
afterEach(async () => {
  metrics?.close();
  metrics = undefined;
  await t?.close();
  t = undefined;
});

function scrape(m: HearthMetrics) {
  return parsePrometheusText(m.expose());
}

describe("metrics from what the runtime reports", () => {
  it("counts a chat agent's model tokens by class and model, priced from the default table", async () => {
    t = await createTestEnv({ agents: { Helpdesk } });
    metrics = createHearthMetrics({ host: t.host, prices: { "mock-model-id": { input: 1, output: 10 } } });
    await t.get<Helpdesk>("Helpdesk", "customer-9").ask("how are you?");
    const families = scrape(metrics);
    expect(valueOf(families, "hearth_gen_ai_tokens_total", { class: "Helpdesk", model: "mock-model-id", type: "input" })).toBe(800);
    expect(valueOf(families, "hearth_gen_ai_tokens_total", { class: "Helpdesk", model: "mock-model-id", type: "output" })).toBe(95);
    expect(valueOf(families, "hearth_gen_ai_cost_usd_total", { class: "Helpdesk", model: "mock-model-id" })).toBeCloseTo((800 * 1 + 95 * 10) / 1e6, 12);
    expect(metrics.expose()).not.toContain("customer-9");
  });

  it("records how late a schedule ran, by class", async () => {
    t = await createTestEnv({ agents: { Reminder } });
    metrics = createHearthMetrics({ host: t.host });
    await t.get<Reminder>("Reminder", "r").later(30);
    await t.clock.advance("30s");
    expect(valueOf(scrape(metrics), "hearth_schedule_lag_seconds_count", { class: "Reminder" })).toBe(1);
  });

  it("stops counting once closed, and never with signals: false", async () => {
    t = await createTestEnv({ agents: { Reminder } });
    const quiet = createHearthMetrics({ host: t.host, signals: false });
    metrics = createHearthMetrics({ host: t.host });
    reportModelUsage("gpt-5-mini", 10, 1);
    expect(valueOf(scrape(quiet), "hearth_gen_ai_tokens_total", { class: "", model: "gpt-5-mini", type: "input" })).toBeUndefined();
    const families = scrape(metrics);
    expect(valueOf(families, "hearth_gen_ai_tokens_total", { class: "", model: "gpt-5-mini", type: "input" })).toBe(10);
    expect(valueOf(families, "hearth_gen_ai_cost_usd_total", { class: "", model: "gpt-5-mini" })).toBeCloseTo((10 * 0.25 + 1 * 2) / 1e6, 12);
    metrics.close();
    reportModelUsage("gpt-5-mini", 10, 1);
    expect(valueOf(scrape(metrics), "hearth_gen_ai_tokens_total", { class: "", model: "gpt-5-mini", type: "input" })).toBe(10);
    quiet.close();
  });
});
