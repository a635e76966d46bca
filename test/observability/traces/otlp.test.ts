/**
 * OTLP/HTTP JSON export to a real receiver on loopback: the body's shape per the OTLP spec, headers
 * and service name from the OTEL_* variables, batches, retries, the bounded queue, and the errors.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { disableTracing, enableTracing, OtlpTraceExporter, otlpConfigFromEnv, withSpan, type SpanRecord } from "../../../src/observability/traces/index.ts";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: { resourceSpans: Array<{ resource: { attributes: Attr[] }; scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }> };
}
interface Attr {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attr[];
  events: Array<{ name: string; timeUnixNano: string; attributes: Attr[] }>;
  status: { code: number; message?: string };
}

let server: Server;
let url: string;
let received: Received[];
/** What to answer with, in order (a status, or a status with headers and body); 200 once they run out. */
let answers: Array<number | { status: number; headers?: Record<string, string>; body?: string }>;

beforeEach(async () => {
  received = [];
  answers = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Received["body"] });
      const answer = answers.shift() ?? 200;
      if (typeof answer === "number") res.writeHead(answer, answer === 503 ? { "retry-after": "0" } : {}).end("{}");
      else res.writeHead(answer.status, answer.headers).end(answer.body ?? "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await disableTracing();
  vi.restoreAllMocks();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const spansOf = (r: Received) => r.body.resourceSpans[0]!.scopeSpans[0]!.spans;
const attr = (attrs: Attr[], key: string) => attrs.find((a) => a.key === key)?.value;

function record(name: string): SpanRecord {
  return { traceId: "a".repeat(32), spanId: "b".repeat(16), name, kind: "internal", startedAt: 1_700_000_000_000.5, endedAt: 1_700_000_000_010, status: { code: 0 }, attributes: {}, events: [], links: [] };
}

describe("OTLP export", () => {
  it("posts the spans as an OTLP/JSON ExportTraceServiceRequest with the environment's endpoint, headers and service name", async () => {
    const tracing = enableTracing({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${url}/`, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s%20cret,tenant=acme", OTEL_SERVICE_NAME: "shop" },
    });
    withSpan("parent", { kind: SpanKind.SERVER, attributes: { count: 3, ratio: 0.5, ok: true, tags: ["a", "b"], text: "hi" } }, () => {
      try {
        withSpan("child", {}, () => {
          throw new TypeError("bad input");
        });
      } catch {
        // recorded on the span
      }
    });
    await tracing.exporter!.flush();
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.path).toBe("/v1/traces");
    expect(request!.headers).toMatchObject({ "content-type": "application/json", "x-api-key": "s cret", tenant: "acme" });
    expect(attr(request!.body.resourceSpans[0]!.resource.attributes, "service.name")).toEqual({ stringValue: "shop" });
    expect(request!.body.resourceSpans[0]!.scopeSpans[0]!.scope.name).toBe("hearth");
    const [child, parent] = spansOf(request!);
    expect(parent).toMatchObject({ name: "parent", kind: 2, status: { code: 0 } });
    expect(parent!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(parent!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(parent!.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(BigInt(parent!.endTimeUnixNano) >= BigInt(parent!.startTimeUnixNano)).toBe(true);
    expect(attr(parent!.attributes, "count")).toEqual({ intValue: "3" });
    expect(attr(parent!.attributes, "ratio")).toEqual({ doubleValue: 0.5 });
    expect(attr(parent!.attributes, "ok")).toEqual({ boolValue: true });
    expect(attr(parent!.attributes, "tags")).toEqual({ arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] } });
    expect(child).toMatchObject({ name: "child", kind: 1, parentSpanId: parent!.spanId, traceId: parent!.traceId, status: { code: 2, message: "bad input" } });
    expect(child!.events[0]!.name).toBe("exception");
    expect(attr(child!.events[0]!.attributes, "exception.type")).toEqual({ stringValue: "TypeError" });
    expect(attr(child!.attributes, "error.type")).toEqual({ stringValue: "TypeError" });
  });

  it("sends numbers as protojson reads them: int64 only for whole numbers in its range, non-finite doubles as strings", async () => {
    const exporter = new OtlpTraceExporter({ endpoint: url });
    const attributes = { small: -42, edge: 2 ** 62, big: 1e21, past: 2 ** 63, half: 0.5, nan: NaN, inf: Infinity, ninf: -Infinity, list: [7, 1e21, NaN, -Infinity] };
    exporter.export({ ...record("numbers"), attributes });
    await exporter.flush();
    const sent = spansOf(received[0]!)[0]!.attributes;
    expect(Object.fromEntries(sent.map((a) => [a.key, a.value]))).toEqual({
      small: { intValue: "-42" },
      edge: { intValue: "4611686018427387904" },
      big: { doubleValue: 1e21 },
      past: { doubleValue: 2 ** 63 },
      half: { doubleValue: 0.5 },
      nan: { doubleValue: "NaN" },
      inf: { doubleValue: "Infinity" },
      ninf: { doubleValue: "-Infinity" },
      list: { arrayValue: { values: [{ intValue: "7" }, { doubleValue: 1e21 }, { doubleValue: "NaN" }, { doubleValue: "-Infinity" }] } },
    });
  });

  it("counts attributes, events and links dropped by the per-span limits each in its own field, in OTLP and in the local store", async () => {
    const tracing = enableTracing({ otlp: { endpoint: url } });
    const linked = { context: { traceId: "c".repeat(32), spanId: "d".repeat(16), traceFlags: 1 } };
    const traceId = withSpan("crowded", {}, (span) => {
      for (let i = 0; i < 129; i++) span.setAttribute(`a${i}`, i);
      for (let i = 0; i < 130; i++) span.addEvent(`e${i}`);
      for (let i = 0; i < 35; i++) span.addLink(linked);
      return span.spanContext().traceId;
    });
    await tracing.exporter!.flush();
    expect(spansOf(received[0]!)[0]).toMatchObject({ droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3 });
    expect(tracing.store.getTrace(traceId)?.spans[0]).toMatchObject({ dropped: 1, droppedEvents: 2, droppedLinks: 3 });
  });

  it("sends in batches of maxBatchSize", async () => {
    const exporter = new OtlpTraceExporter({ endpoint: `${url}/custom`, maxBatchSize: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) exporter.export(record(`s${i}`));
    await exporter.flush();
    expect(received.map((r) => spansOf(r).map((s) => s.name))).toEqual([["s0", "s1"], ["s2", "s3"], ["s4"]]);
    expect(received[0]!.path).toBe("/custom");
    expect(exporter.stats()).toEqual({ queued: 0, sent: 5, rejected: 0, dropped: 0, failedBatches: 0 });
  });

  it("retries after 503 (honouring Retry-After) and sends the same batch", async () => {
    answers = [503, 503];
    const exporter = new OtlpTraceExporter({ endpoint: url, retryBaseMs: 1 });
    exporter.export(record("kept"));
    await exporter.flush();
    expect(received.map((r) => spansOf(r)[0]!.name)).toEqual(["kept", "kept", "kept"]);
    expect(exporter.stats()).toMatchObject({ sent: 1, dropped: 0, failedBatches: 0 });
  });

  it("drops a batch the receiver refuses (400) or that runs out of retries, and says so once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    answers = [400, 503, 503];
    const exporter = new OtlpTraceExporter({ endpoint: url, retryBaseMs: 1, maxRetries: 1 });
    exporter.export(record("refused"));
    await exporter.flush();
    exporter.export(record("unlucky"));
    await exporter.flush();
    expect(exporter.stats()).toMatchObject({ sent: 0, dropped: 2, failedBatches: 2 });
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([`[hearth] OTLP export to ${url} failed (HTTP 400); 1 spans dropped`]);
  });

  it("drops new spans while the queue is full, without waiting, and says how many at most once a minute", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const exporter = new OtlpTraceExporter({ endpoint: url, maxQueueSize: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) exporter.export(record(`q${i}`));
    expect(exporter.stats()).toMatchObject({ queued: 2, dropped: 3 });
    const full = (count: string) => `[hearth] OTLP export to ${url} is behind: its queue of 2 spans is full; ${count} dropped`;
    // The first drop is told at once; the next ones wait for the minute to pass, or for shutdown.
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([full("1 new span")]);
    await exporter.shutdown();
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([full("1 new span"), full("2 new spans")]);
    expect(received.flatMap((r) => spansOf(r).map((s) => s.name))).toEqual(["q0", "q1"]);
    exporter.export(record("late"));
    expect(exporter.stats()).toMatchObject({ queued: 0, sent: 2, dropped: 4 });
  });

  it("counts spans a collector refused in a 200 (partialSuccess) apart from those sent, and says why once a minute", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const partial = (rejected: string, message: string) => ({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ partialSuccess: { rejectedSpans: rejected, errorMessage: message } }) });
    answers = [partial("2", "2 spans are older than the retention window"), partial("1", "again")];
    const exporter = new OtlpTraceExporter({ endpoint: url, flushIntervalMs: 60_000 });
    for (const name of ["new", "old1", "old2"]) exporter.export(record(name));
    await exporter.flush();
    exporter.export(record("old3"));
    await exporter.flush();
    expect(exporter.stats()).toMatchObject({ sent: 1, rejected: 3, dropped: 0, failedBatches: 0 });
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([`[hearth] the OTLP collector at ${url} refused 2 of 3 spans: 2 spans are older than the retention window`]);
  });

  it("honours a Retry-After given as an HTTP-date", async () => {
    answers = [{ status: 503, headers: { "retry-after": new Date(Date.now() - 60_000).toUTCString() } }];
    // Without the header's word the retry would be a minute away, past flush's deadline.
    const exporter = new OtlpTraceExporter({ endpoint: url, retryBaseMs: 60_000 });
    exporter.export(record("soon"));
    await exporter.flush();
    expect(received.map((r) => spansOf(r)[0]!.name)).toEqual(["soon", "soon"]);
    expect(exporter.stats()).toMatchObject({ sent: 1, dropped: 0 });
  });

  it("refuses bad settings with errors that name them", () => {
    expect(() => new OtlpTraceExporter({ endpoint: url, maxQueueSize: 0 })).toThrow("OTLP exporter maxQueueSize must be a positive number, got 0");
    expect(() => new OtlpTraceExporter({ endpoint: url, maxRetries: -1 })).toThrow("OTLP exporter maxRetries must be an integer >= 0, got -1");
  });
});

describe("otlpConfigFromEnv", () => {
  it("reads the endpoint, headers and timeout, per signal first", () => {
    expect(otlpConfigFromEnv({})).toBeUndefined();
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })?.endpoint).toBe("http://c:4318/v1/traces");
    const config = otlpConfigFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://t.example/ingest",
      OTEL_EXPORTER_OTLP_HEADERS: "a=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "b=2",
      OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    });
    expect(config).toMatchObject({ endpoint: "https://t.example/ingest", headers: { b: "2" }, timeoutMs: 2500, resource: { "service.name": "hearth" } });
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("refuses a protocol it does not speak and an endpoint that is not http(s)", () => {
    expect(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by Hearth's built-in exporter, which sends OTLP/HTTP JSON; use http/json, or register the OpenTelemetry SDK with a grpc exporter",
    );
    expect(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" })).toThrow(
      'OTLP traces endpoint "collector:4318" is not an http(s) URL (from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)',
    );
  });
});
