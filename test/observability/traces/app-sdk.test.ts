/**
 * A trace across HTTP → agent → sub-agent → workflow → model → tool, with the application's own
 * OpenTelemetry SDK registered globally: Hearth's spans reach the application's exporter with the
 * right parents and GenAI attributes, and the same trace is in Hearth's local store.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { disableTracing, enableTracing, type Tracing } from "../../../src/observability/traces/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { Agent } from "../../../src/index.ts";
import { Front, Helper, Research, world } from "./fixture.ts";

/** Application code inside an agent, using the application's tracer. */
class Inner extends Agent {
  onRequest(): Response {
    return trace.getTracer("app").startActiveSpan("app inner", (span) => {
      span.end();
      return new Response("ok");
    });
  }
}

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

let t: TestEnv | undefined;
let tracing: Tracing | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await disableTracing();
  exporter.reset();
  world.thoughts = [];
  world.failTool = false;
  vi.restoreAllMocks();
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name), `one span named ${name} in ${spans.map((s) => s.name).join(", ")}`).toEqual([name]);
  return found[0]!;
}

describe("with the application's OpenTelemetry SDK", () => {
  it("nests request → onRequest → rpc → workflow step → invoke_agent → chat → execute_tool in one trace", async () => {
    tracing = enableTracing({ otlp: false, costOf: (model, input, output) => (model === "scripted-1" ? (input + output) / 1_000_000 : undefined) });
    expect(tracing.forwardsToApplication).toBe(true);
    t = await createTestEnv({ agents: { Front, Helper }, workflows: { Research } });
    const app = trace.getTracer("app");
    const response = await app.startActiveSpan("app outer", async (outer) => {
      try {
        return await t!.fetch("/agents/front/f1", { headers: { traceparent: `00-${outer.spanContext().traceId}-${outer.spanContext().spanId}-01` } });
      } finally {
        outer.end();
      }
    });
    expect(response.status).toBe(200);
    await t.clock.settle();
    await waitFor(() => world.thoughts.length === 1);
    expect(world.thoughts).toEqual(["Sunny."]);
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === "workflow step think"));

    const spans = exporter.getFinishedSpans();
    const outer = only(spans, "app outer");
    const traceId = outer.spanContext().traceId;
    const http = only(spans, "GET");
    const onRequest = only(spans, "onRequest");
    const ask = only(spans, "rpc ask");
    const step = only(spans, "workflow step think");
    const think = only(spans, "rpc think");
    const invoke = only(spans, "invoke_agent Helper");
    const chats = spans.filter((s) => s.name === "chat scripted-1");
    const tool = only(spans, "execute_tool weather");

    for (const span of [http, onRequest, ask, step, think, invoke, tool, ...chats]) expect(span.spanContext().traceId).toBe(traceId);
    expect(parentOf(http)).toBe(outer.spanContext().spanId);
    expect(parentOf(onRequest)).toBe(http.spanContext().spanId);
    expect(parentOf(ask)).toBe(onRequest.spanContext().spanId);
    expect(parentOf(step)).toBe(ask.spanContext().spanId);
    expect(parentOf(think)).toBe(step.spanContext().spanId);
    expect(parentOf(invoke)).toBe(think.spanContext().spanId);
    expect(chats).toHaveLength(2);
    for (const chat of chats) expect(parentOf(chat)).toBe(invoke.spanContext().spanId);
    expect(parentOf(tool)).toBe(chats[0]!.spanContext().spanId);

    expect(http.attributes).toMatchObject({ "http.request.method": "GET", "url.path": "/agents/front/f1", "http.response.status_code": 200 });
    expect(typeof http.attributes["hearth.request.id"]).toBe("string");
    expect(onRequest.attributes).toMatchObject({ "hearth.agent.class": "Front", "hearth.agent.name": "f1", "hearth.event": "onRequest" });
    expect(ask.attributes).toMatchObject({ "hearth.agent.class": "Helper", "hearth.agent.name": "h1", "hearth.event": "rpc" });
    expect(step.attributes).toMatchObject({ "gen_ai.workflow.name": "Research" });
    expect(invoke.attributes).toMatchObject({ "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Helper", "gen_ai.agent.id": "h1", "gen_ai.usage.input_tokens": 32, "gen_ai.usage.output_tokens": 5 });
    expect(chats[0]!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "scripted",
      "gen_ai.request.model": "scripted-1",
      "gen_ai.agent.name": "Helper",
      "gen_ai.agent.id": "h1",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 3,
      "gen_ai.response.finish_reasons": ["tool-calls"],
      "hearth.cost.usd": 15 / 1_000_000,
    });
    expect(tool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "weather", "gen_ai.tool.call.id": "call-1" });

    // The same trace, in Hearth's local store.
    tracing.store.flush();
    const local = tracing.store.getTrace(traceId)!;
    expect(local.spans.map((s) => s.name)).toEqual(expect.arrayContaining(["GET", "onRequest", "rpc ask", "workflow step think", "rpc think", "invoke_agent Helper", "chat scripted-1", "execute_tool weather"]));
    const summary = tracing.store.listTraces({ class: "Front" }).items.find((item) => item.traceId === traceId)!;
    expect(summary).toMatchObject({ agent: "f1", models: ["scripted-1"], tokens: 37, error: false });
    expect(summary.costUsd).toBeCloseTo(37 / 1_000_000, 12);
    expect(tracing.store.listTraces({ model: "scripted-1" }).items.map((item) => item.traceId)).toContain(traceId);
  });

  it("puts the application's own spans made inside an agent under the agent's event span", async () => {
    enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Inner } });
    expect(await (await t.fetch("/agents/inner/i1")).text()).toBe("ok");
    const spans = exporter.getFinishedSpans();
    expect(parentOf(only(spans, "app inner"))).toBe(only(spans, "onRequest").spanContext().spanId);
  });

  it("records a failed RPC as an error on its span and on the request's trace", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Front, Helper }, workflows: { Research } });
    const response = await t.fetch("/agents/front/f2?fail");
    expect(response.status).toBe(500);
    const spans = exporter.getFinishedSpans();
    const failed = only(spans, "rpc fail");
    expect(failed.status).toMatchObject({ code: 2, message: "helper refused" });
    expect(failed.attributes["error.type"]).toBe("RangeError");
    expect(failed.events.map((e) => e.name)).toEqual(["exception"]);
    const traceId = failed.spanContext().traceId;
    expect(tracing.store.listTraces({ error: true }).items.map((item) => item.traceId)).toEqual([traceId]);
    expect(tracing.store.listTraces({ error: false }).items.map((item) => item.traceId)).not.toContain(traceId);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!check()) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(check()).toBe(true);
}
