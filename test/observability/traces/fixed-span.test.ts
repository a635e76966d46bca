/**
 * The request's and the agent event's spans are fixed records (fixed-span.ts) until code asks for
 * more: the store, the span listeners and the file see the same spans as before — the same
 * attributes in the same order — and the active span (`trace.getActiveSpan()` under a global
 * context manager) still records what it is given.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Mailbox } from "../../../src/host/mailbox.ts";
import { activeContext } from "../../../src/observability/traces/context.ts";
import { traceAgentEvent, traceHttpRequest } from "../../../src/observability/traces/hooks.ts";
import { disableTracing, enableTracing, onSpanEnd, SPAN_LIMITS, SpanStore, type SpanRecord, type Tracing } from "../../../src/observability/traces/index.ts";

let tracing: Tracing | undefined;
let dir: string | undefined;
const offs: Array<() => void> = [];
afterEach(async () => {
  for (const off of offs.splice(0)) off();
  await disableTracing();
  context.disable();
  tracing = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const mailbox = () => new Mailbox({ settle: () => undefined, yielded: () => {}, idle: () => {} });

/** One request as the gateway and the host run it: the HTTP span around an agent event's. */
function request(url: string, init: RequestInit, onRequest: () => Response | Promise<Response>): Promise<Response> {
  const box = mailbox();
  return traceHttpRequest(new Request(url, init), () => box.deliver(() => traceAgentEvent("Counter", "hot", "onRequest", undefined, onRequest)));
}

function listen(): SpanRecord[] {
  const heard: SpanRecord[] = [];
  offs.push(onSpanEnd((span) => heard.push(span)));
  return heard;
}

const stored = (traceId: string) => tracing!.store.getTrace(traceId)!.spans;
const named = (spans: readonly SpanRecord[], name: string) => spans.find((span) => span.name === name)!;

describe("fixed spans", () => {
  it("keep the same spans in the store and give listeners plain records, attributes in order", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const heard = listen();
    await request("http://h/agents/counter/hot?x=1", { method: "POST", body: "{}", headers: { "user-agent": "bench/1" } }, () => new Response("ok", { status: 201 }));
    expect(heard.map((span) => span.name)).toEqual(["onRequest", "POST"]);
    const [event, http] = heard as [SpanRecord, SpanRecord];
    expect(http).toMatchObject({ kind: "server", parentSpanId: undefined, status: { code: 0 }, events: [], links: [] });
    expect(Object.entries(http.attributes)).toEqual([
      ["http.request.method", "POST"],
      ["url.path", "/agents/counter/hot"],
      ["url.scheme", "http"],
      ["user_agent.original", "bench/1"],
      ["hearth.request.id", http.spanId],
      ["http.response.status_code", 201],
    ]);
    expect(event).toMatchObject({ kind: "internal", traceId: http.traceId, parentSpanId: http.spanId });
    expect(Object.entries(event.attributes)).toEqual([
      ["hearth.agent.class", "Counter"],
      ["hearth.agent.name", "hot"],
      ["hearth.event", "onRequest"],
    ]);
    expect(event.startedAt).toBeGreaterThanOrEqual(http.startedAt);
    expect(http.endedAt).toBeGreaterThanOrEqual(event.endedAt);
    // Listeners get plain data: what JSON gives back is the record.
    expect(JSON.parse(JSON.stringify(http))).toEqual(JSON.parse(JSON.stringify({ ...http, parentSpanId: undefined })));
    expect(Object.getPrototypeOf(http)).toBe(Object.prototype);
    // The store, which encodes the spans themselves, gives back the same records.
    const spans = stored(http.traceId);
    expect(named(spans, "POST")).toEqual(http);
    expect(named(spans, "onRequest")).toEqual(event);
    expect(Object.keys(named(spans, "POST").attributes)).toEqual(Object.keys(http.attributes));
  });

  it("keep a client's request id, https, a long path and a user agent cut to the limit", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const heard = listen();
    const path = `/agents/counter/${"p".repeat(100)}`;
    const agent = "a".repeat(SPAN_LIMITS.maxAttributeLength + 10);
    await request(`https://h${path}`, { headers: { "user-agent": agent, "x-request-id": "req-7" } }, () => new Response("ok"));
    const http = named(heard, "GET");
    expect(http.attributes).toMatchObject({ "url.scheme": "https", "url.path": path, "hearth.request.id": "req-7", "http.response.status_code": 200 });
    expect(String(http.attributes["user_agent.original"])).toHaveLength(SPAN_LIMITS.maxAttributeLength);
    expect(String(http.attributes["user_agent.original"]).endsWith("…")).toBe(true);
    expect(named(stored(http.traceId), "GET")).toEqual(http);
  });

  it.each([
    ["Hearth's own context storage", false],
    ["the application's global context manager (trace.getActiveSpan())", true],
  ])("record what code adds to the active span, in the store and for listeners: %s", async (_, global) => {
    if (global) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const heard = listen();
    await request("http://h/agents/counter/hot", {}, async () => {
      const span = global ? trace.getActiveSpan()! : trace.getSpan(activeContext())!;
      expect(span.isRecording()).toBe(true);
      span.setAttribute("app.cart", 3);
      span.addEvent("cart loaded", { items: 3 });
      span.recordException(new Error("soft failure"));
      await Promise.resolve();
      expect(trace.getSpan(activeContext())).toBe(span);
      return new Response("ok");
    });
    const event = named(heard, "onRequest");
    expect(Object.entries(event.attributes)).toEqual([
      ["hearth.agent.class", "Counter"],
      ["hearth.agent.name", "hot"],
      ["hearth.event", "onRequest"],
      ["app.cart", 3],
    ]);
    expect(event.events.map((e) => e.name)).toEqual(["cart loaded", "exception"]);
    expect(event.events[0]!.attributes).toEqual({ items: 3 });
    expect(named(stored(event.traceId), "onRequest")).toEqual(event);
    expect(named(heard, "GET").attributes["http.response.status_code"]).toBe(200);
  });

  it("mark a 5xx response and a thrown error failed", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const heard = listen();
    await request("http://h/a", {}, () => new Response("down", { status: 503 }));
    const failed = named(heard, "GET");
    expect(failed.status.code).toBe(2);
    expect(Object.entries(failed.attributes).slice(-2)).toEqual([
      ["http.response.status_code", 503],
      ["error.type", "503"],
    ]);
    await expect(
      request("http://h/b", {}, () => {
        throw new TypeError("boom");
      }),
    ).rejects.toThrow("boom");
    const [event, http] = heard.slice(2) as [SpanRecord, SpanRecord];
    for (const span of [event, http]) {
      expect(span.status).toEqual({ code: 2, message: "boom" });
      expect(span.attributes["error.type"]).toBe("TypeError");
      expect(span.events.map((e) => e.name)).toEqual(["exception"]);
    }
    expect(named(stored(http.traceId), "GET")).toEqual(http);
  });

  it("go to the file as records", async () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-fixed-"));
    const path = join(dir, "spans.sqlite");
    tracing = enableTracing({ otlp: false, aiSdk: false, store: { persist: { path } } });
    const heard = listen();
    await request("http://h/agents/counter/hot", { headers: { "user-agent": "u" } }, () => new Response("ok"));
    await disableTracing();
    const reopened = new SpanStore({ persist: { path } });
    try {
      const spans = reopened.getTrace(heard[0]!.traceId)!.spans;
      expect([...spans].sort((a, b) => a.name.localeCompare(b.name))).toEqual([...heard].sort((a, b) => a.name.localeCompare(b.name)));
    } finally {
      reopened.close();
    }
  });
});
