/**
 * Without an application SDK: Hearth's own spans in the local store — the parents across agents
 * (also when calls queue up in one mailbox), a chat agent's turn, queues, log correlation, errors,
 * sampling and the off switch.
 */
import { SpanKind } from "@opentelemetry/api";
import { jsonSchema, tool } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent } from "../../../src/index.ts";
import { currentLogContext } from "../../../src/observability/logs/context.ts";
import { chatSpanUsage, disableTracing, enableTracing, onSpanEnd, tracingOn, withSpan, type ChatSpanUsage, type SpanRecord, type Tracing } from "../../../src/observability/traces/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { chatEnv, resetWorld } from "../../chat/fixture.ts";
import { ChatClient, scriptedModel, textStream, toolCallStream, userMessage } from "../../chat/helpers.ts";
import { consumer, QueueFixture } from "../../queues/helpers.ts";
import { Front, Helper, Research, world } from "./fixture.ts";

/** What Probe.workLater's work left running after the call returned saw as its trace and span, by label. */
const seenLater = new Map<string, { trace_id?: string; span_id?: string } | undefined>();

class Probe extends Agent {
  static callables = ["work", "workLater", "relayLater"];
  onRequest(): Response {
    return Response.json(currentLogContext() ?? {});
  }
  pinged = 0;
  later(): void {
    this.schedule(60, "ping", { n: 1 });
  }
  ping(): void {
    this.pinged++;
  }
  async work(label: string): Promise<string> {
    await Promise.resolve();
    return label;
  }
  workLater(label: string): string {
    void new Promise((resolve) => setImmediate(resolve)).then(() => seenLater.set(label, currentLogContext()));
    return label;
  }
  async relayLater(label: string): Promise<string> {
    return (await this.subAgent(Probe, "relayed")).workLater(label);
  }
}

let t: TestEnv | undefined;
let tracing: Tracing | undefined;
let fx: QueueFixture | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await fx?.dispose();
  fx = undefined;
  await disableTracing();
  world.thoughts = [];
  world.failTool = false;
  vi.restoreAllMocks();
});

const byName = (spans: readonly SpanRecord[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name), `spans: ${spans.map((s) => s.name).join(", ")}`).toEqual([name]);
  return found[0]!;
};

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe("the local store without an application SDK", () => {
  it("keeps the whole tree from the HTTP request to the tool, with parents", async () => {
    tracing = enableTracing({ otlp: false });
    expect(tracing.forwardsToApplication).toBe(false);
    t = await createTestEnv({ agents: { Front, Helper }, workflows: { Research } });
    expect((await t.fetch("/agents/front/f1")).status).toBe(200);
    await t.clock.settle();
    await waitFor(() => tracing!.store.listTraces({ model: "scripted-1" }).items.length === 1);
    const [summary] = tracing.store.listTraces().items;
    expect(summary).toMatchObject({ rootName: "GET", class: "Front", agent: "f1", tokens: 37, error: false });
    const spans = tracing.store.getTrace(summary!.traceId)!.spans;
    const http = byName(spans, "GET");
    expect(http.kind).toBe("server");
    expect(http.parentSpanId).toBeUndefined();
    const chain = ["GET", "onRequest", "rpc ask", "workflow step think", "rpc think", "invoke_agent Helper"].map((name) => byName(spans, name));
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.parentSpanId, chain[i]!.name).toBe(chain[i - 1]!.spanId);
    const chats = spans.filter((s) => s.name === "chat scripted-1");
    expect(chats.map((c) => c.parentSpanId)).toEqual([chain[5]!.spanId, chain[5]!.spanId]);
    expect(chats[0]!.kind).toBe("client");
    expect(byName(spans, "execute_tool weather").parentSpanId).toBe(chats[0]!.spanId);
  });

  it("gives onSpanEnd listeners each chat span's usage by class and model", async () => {
    tracing = enableTracing({ otlp: false, costOf: () => 0.01 });
    const usage: ChatSpanUsage[] = [];
    const off = onSpanEnd((span) => {
      const found = chatSpanUsage(span);
      if (found) usage.push(found);
    });
    t = await createTestEnv({ agents: { Helper } });
    await t.get<Helper>("Helper", "h8").think("weather?");
    off();
    expect(usage).toEqual([
      { className: "Helper", model: "scripted-1", inputTokens: 12, outputTokens: 3, costUsd: 0.01 },
      { className: "Helper", model: "scripted-1", inputTokens: 20, outputTokens: 2, costUsd: 0.01 },
    ]);
  });

  it("records a failing tool as an error with an exception event", async () => {
    tracing = enableTracing({ otlp: false });
    world.failTool = true;
    t = await createTestEnv({ agents: { Helper } });
    await t.get<Helper>("Helper", "h9").think("weather?");
    const tool = tracing.store.listTraces({ error: true }).items.map((item) => tracing!.store.getTrace(item.traceId)!.spans).flat().find((s) => s.name === "execute_tool weather")!;
    expect(tool.status).toEqual({ code: 2, message: "no weather for Paris" });
    expect(tool.events[0]).toMatchObject({ name: "exception", attributes: { "exception.type": "Error", "exception.message": "no weather for Paris" } });
  });

  it("records a failing model call on its chat and invoke_agent spans", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Helper } });
    await expect(t.get<Helper>("Helper", "h7").broken()).rejects.toThrow("provider is down");
    const [failed] = tracing.store.listTraces({ error: true }).items;
    const spans = tracing.store.getTrace(failed!.traceId)!.spans;
    expect(byName(spans, "chat scripted-down").status).toEqual({ code: 2, message: "provider is down" });
    expect(byName(spans, "invoke_agent Helper").status.code).toBe(2);
    expect(byName(spans, "rpc broken").status.code).toBe(2);
  });

  it("runs each queued call in its own caller's context (not the first caller's)", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    const stub = t.get<Probe>("Probe", "p1");
    const callers: string[] = [];
    const results = await Promise.all(
      ["A", "B", "C"].map((label) =>
        withSpan(`caller ${label}`, {}, (span) => {
          callers.push(span.spanContext().spanId);
          return stub.work(label);
        }),
      ),
    );
    expect(results).toEqual(["A", "B", "C"]);
    const spans = tracing.store.listTraces({ limit: 10 }).items.flatMap((item) => tracing!.store.getTrace(item.traceId)!.spans);
    const rpcs = spans.filter((s) => s.name === "rpc work");
    expect(rpcs).toHaveLength(3);
    expect(rpcs.map((s) => s.parentSpanId).sort()).toEqual([...callers].sort());
    for (const label of ["A", "B", "C"]) {
      const caller = byName(spans, `caller ${label}`);
      expect(rpcs.filter((r) => r.parentSpanId === caller.spanId && r.traceId === caller.traceId)).toHaveLength(1);
    }
  });

  it("keeps each queued call's context for the work it leaves running after it returned", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    const stub = t.get<Probe>("Probe", "p1b");
    await stub.work("warm"); // started: the calls below queue up behind one another
    const callers = new Map<string, string>();
    await Promise.all(
      ["A", "B", "C", "D"].map((label) =>
        withSpan(`caller ${label}`, {}, (span) => {
          callers.set(label, span.spanContext().traceId);
          return stub.workLater(label);
        }),
      ),
    );
    await waitFor(() => ["A", "B", "C", "D"].every((label) => seenLater.has(label)));
    expect(new Set(callers.values()).size).toBe(4);
    for (const [label, traceId] of callers) expect(seenLater.get(label)?.trace_id, label).toBe(traceId);
  });

  it("keeps the calling agent's span for the work a call from inside its event leaves running", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    await withSpan("caller", {}, () => t!.get<Probe>("Probe", "p1c").relayLater("R"));
    await waitFor(() => seenLater.has("R"));
    const seen = seenLater.get("R")!;
    const spans = tracing.store.getTrace(seen.trace_id!)!.spans;
    // The relayed call's span is a child of the caller agent's event span: the work it left running
    // sees that span too, not the context of the frame the call started in (the test's "caller").
    const relayed = byName(spans, "rpc workLater");
    expect(byName(spans, "rpc relayLater").spanId).toBe(relayed.parentSpanId);
    expect(seen.span_id).toBe(relayed.parentSpanId);
  });

  it("gives each request a request id (reusing a sane x-request-id) that logs carry with the trace ids", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    const given = (await (await t.fetch("/agents/probe/p2", { headers: { "x-request-id": "req-42" } })).json()) as Record<string, string>;
    expect(given).toMatchObject({ agent: "Probe", name: "p2", requestId: "req-42" });
    const onRequest = byName(tracing.store.getTrace(given.trace_id!)!.spans, "onRequest");
    expect(given.span_id).toBe(onRequest.spanId);
    const made = (await (await t.fetch("/agents/probe/p2", { headers: { "x-request-id": "bad id with spaces" } })).json()) as Record<string, string>;
    // Without a usable id from the client, the request's server span id is its id.
    const server = byName(tracing.store.getTrace(made.trace_id!)!.spans, "GET");
    expect(made.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(server.spanId).toBe(made.requestId);
    expect(server.attributes["hearth.request.id"]).toBe(made.requestId);
  });

  it("continues an incoming traceparent", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await t.fetch("/agents/probe/p3", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const http = byName(tracing.store.getTrace(traceId)!.spans, "GET");
    expect(http.parentSpanId).toBe("00f067aa0ba902b7");
  });

  it("traces a chat agent's turn: invoke_agent with the conversation, then chat and execute_tool", async () => {
    tracing = enableTracing({ otlp: false });
    resetWorld(scriptedModel(toolCallStream("w1", "weather", { city: "Paris" }), textStream("Sunny in Paris.")), {
      weather: tool({ inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } } }), execute: async () => ({ sky: "clear" }) }),
    });
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "conv-7");
    await client.done(client.send([userMessage("u1", "weather in Paris?")]));
    client.close();
    await waitFor(() => tracing!.store.listTraces({ conversation: "conv-7" }).items.length === 1);
    const [summary] = tracing.store.listTraces({ conversation: "conv-7" }).items;
    const spans = tracing.store.getTrace(summary!.traceId)!.spans;
    const invoke = byName(spans, "invoke_agent Chat");
    expect(invoke.attributes).toMatchObject({ "gen_ai.agent.name": "Chat", "gen_ai.agent.id": "conv-7", "gen_ai.conversation.id": "conv-7" });
    const chats = spans.filter((s) => s.name.startsWith("chat "));
    expect(chats).toHaveLength(2);
    for (const chat of chats) expect(chat.parentSpanId).toBe(invoke.spanId);
    expect(chats[0]!.attributes).toMatchObject({ "gen_ai.conversation.id": "conv-7", "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 5 });
    expect(byName(spans, "execute_tool weather").parentSpanId).toBe(chats[0]!.spanId);
    expect(byName(spans, "onMessage cf_agent_use_chat_request").spanId).toBe(invoke.parentSpanId);
  });

  it("carries the sender's trace through a queue message to the consumer's span", async () => {
    tracing = enableTracing({ otlp: false });
    fx = new QueueFixture();
    let seenInside: string | undefined;
    fx.handle = () => {
      seenInside = currentLogContext()?.trace_id;
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })]);
    const producer = fx.producer("jobs");
    const sender = await withSpan("send job", { kind: SpanKind.PRODUCER }, async (span) => {
      await producer.send({ n: 1 });
      return span.spanContext();
    });
    await fx.settle();
    await waitFor(() => tracing!.store.getTrace(sender.traceId)?.spans.some((s) => s.name === "process jobs") === true);
    const processed = byName(tracing.store.getTrace(sender.traceId)!.spans, "process jobs");
    expect(processed).toMatchObject({ parentSpanId: sender.spanId, kind: "consumer", attributes: { "hearth.queue.name": "jobs" } });
    expect(seenInside).toBe(sender.traceId);
  });

  it("traces a WebSocket RPC as 'rpc {method}'", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    const client = await t.connect("Probe", "p6");
    expect(await client.call("work", ["ws"])).toBe("ws");
    client.close();
    const spans = tracing.store.listTraces({ agent: "p6", limit: 10 }).items.flatMap((item) => tracing!.store.getTrace(item.traceId)!.spans);
    expect(byName(spans, "rpc work").attributes).toMatchObject({ "hearth.agent.class": "Probe", "hearth.event": "rpc" });
  });

  it("runs a schedule's callback in a 'schedule {callback}' span", async () => {
    tracing = enableTracing({ otlp: false });
    t = await createTestEnv({ agents: { Probe } });
    await t.get<Probe>("Probe", "p5").later();
    await t.clock.advance("2 minutes");
    const spans = tracing.store.listTraces({ agent: "p5", limit: 10 }).items.flatMap((item) => tracing!.store.getTrace(item.traceId)!.spans);
    expect(byName(spans, "schedule ping").attributes).toMatchObject({ "hearth.agent.class": "Probe", "hearth.agent.name": "p5", "hearth.event": "schedule" });
    // A trace of its own: not under the RPC that armed the host's timer.
    expect(byName(spans, "schedule ping").parentSpanId).toBeUndefined();
  });

  it("hands every recorded span to onSpanEnd listeners", async () => {
    tracing = enableTracing({ otlp: false });
    const seen: string[] = [];
    const off = onSpanEnd((span) => seen.push(span.name));
    withSpan("one", {}, () => {});
    off();
    withSpan("two", {}, () => {});
    expect(seen).toEqual(["one"]);
  });

  it("records nothing with sampleRatio 0, and nothing at all when off", async () => {
    tracing = enableTracing({ otlp: false, sampleRatio: 0 });
    t = await createTestEnv({ agents: { Probe } });
    const context = (await (await t.fetch("/agents/probe/p4")).json()) as Record<string, string>;
    expect(context.trace_id).toMatch(/^[0-9a-f]{32}$/); // the context still flows
    expect(tracing.store.stats().spans).toBe(0);
    await disableTracing();
    expect(tracingOn()).toBe(false);
    const off = (await (await t.fetch("/agents/probe/p4")).json()) as Record<string, string>;
    expect(off.trace_id).toBeUndefined();
    expect(off.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const before = enableTracing({ otlp: false });
    expect(() => enableTracing({ sampleRatio: 2 })).toThrow("traces sampleRatio must be between 0 and 1, got 2");
    expect(() => enableTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://x" } })).toThrow('OTLP traces endpoint "ftp://x" is not an http(s) URL (from OTEL_EXPORTER_OTLP_ENDPOINT)');
    expect(tracingOn()).toBe(true); // the tracing that was on stays on
    withSpan("still recorded", {}, () => {});
    expect(before.store.stats().spans).toBe(1);
  });
});
