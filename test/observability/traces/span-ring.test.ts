/**
 * The memory store's ring of encoded spans: what goes in comes out equal (every attribute type,
 * events, links, unicode, status messages), and over thousands of adds with wraps, evictions by
 * count and by bytes, full traces and traces coming back after eviction, it holds exactly what a
 * plain list of traces with the same rules holds.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../support/seeded-random.ts";
import { SpanCodec } from "../../../src/observability/traces/span-codec.ts";
import { SPAN_LIMITS, type SpanRecord } from "../../../src/observability/traces/span-record.ts";
import { HearthSpan } from "../../../src/observability/traces/span.ts";
import { SpanRing, type SpanRingLimits } from "../../../src/observability/traces/span-ring.ts";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
let spanSeq = 0;

function makeSpan(next: () => number, trace: number, extra = 0): SpanRecord {
  // Whole code points: a lone surrogate has no UTF-8 form (it comes back as U+FFFD, as in the file and OTLP).
  const text = (length: number) => Array.from("aé€𝄞z".repeat(Math.ceil(length / 5))).slice(0, length).join("");
  const attributes: Record<string, string | number | boolean | string[] | number[]> = { "hearth.agent.class": "Counter", n: next() * 1e6 };
  if (next() < 0.5) attributes[`key.${Math.floor(next() * 8)}`] = text(Math.floor(next() * 200) + extra);
  if (next() < 0.2) attributes.flag = next() < 0.5;
  if (next() < 0.1) attributes.list = [text(3), text(5)];
  if (next() < 0.1) attributes.numbers = [1.5, -2, Number.MAX_SAFE_INTEGER];
  const start = Math.floor(next() * 1e6) + 0.25;
  const failed = next() < 0.1;
  return {
    traceId: hex(trace + 1, 32),
    spanId: hex(++spanSeq, 16),
    parentSpanId: next() < 0.7 ? hex(spanSeq + 1_000_000, 16) : undefined,
    name: next() < 0.9 ? "onRequest" : `custom ${text(Math.floor(next() * 40))}`,
    kind: (["internal", "server", "client", "producer", "consumer"] as const)[Math.floor(next() * 5)]!,
    startedAt: start,
    endedAt: start + next() * 100,
    status: failed ? { code: 2, message: text(30) } : next() < 0.1 ? { code: 1 } : { code: 0 },
    attributes,
    events: failed ? [{ name: "exception", time: start + 1, attributes: { "exception.message": text(20) } }, { name: "retry", time: start + 2 }] : [],
    links: next() < 0.05 ? [{ traceId: hex(7, 32), spanId: hex(8, 16) }, { traceId: hex(9, 32), spanId: hex(10, 16), attributes: { why: "started by" } }] : [],
    dropped: next() < 0.05 ? 3 : undefined,
    droppedEvents: next() < 0.05 ? 130 : undefined,
    droppedLinks: next() < 0.05 ? 70_000 : undefined,
  };
}

describe("SpanCodec", () => {
  it("decodes what it encoded, for every kind of attribute, events, links and status", () => {
    const next = seededRandom(1);
    const codec = new SpanCodec();
    for (let i = 0; i < 500; i++) {
      const span = makeSpan(next, i, i % 50 === 0 ? 5_000 : 0);
      const size = codec.encode(span);
      const copy = Buffer.from(codec.scratch.subarray(0, size));
      const decoded = codec.decode(copy, new DataView(copy.buffer, copy.byteOffset, copy.byteLength), 0, span.traceId);
      expect(decoded).toEqual(span);
    }
  });

  it("writes hex ids as bytes and any other id as text, and short values beyond its table of values as text", () => {
    const codec = new SpanCodec();
    const roundTrip = (span: SpanRecord): SpanRecord => {
      const copy = Buffer.from(codec.scratch.subarray(0, codec.encode(span)));
      return codec.decode(copy, new DataView(copy.buffer, copy.byteOffset, copy.byteLength), 0, span.traceId);
    };
    const base = makeSpan(seededRandom(7), 1);
    const hexSize = codec.encode(base);
    // Ids that are not hex of their size (another SDK's, a link given by hand) come back as they were.
    const odd = { ...base, traceId: "not a trace id", spanId: "12345", parentSpanId: "zz".repeat(8), links: [{ traceId: "x", spanId: "y" }] };
    expect(roundTrip(odd)).toEqual(odd);
    // Hex-sized but not hex to the end (a bad last digit, a character beyond ASCII): text, read back whole.
    const almost = { ...base, traceId: `${"a".repeat(31)}g`, spanId: `${"0".repeat(15)}\u0130`, parentSpanId: `\u00e9${"1".repeat(15)}` };
    expect(roundTrip(almost)).toEqual(almost);
    expect(codec.encode(base)).toBe(hexSize);
    expect(codec.encode({ ...base, spanId: "q".repeat(16) })).toBeGreaterThan(hexSize + 11); // text: 4 + 16 bytes, not 8
    expect(codec.encode({ ...base, traceId: "q".repeat(32) })).toBe(hexSize); // the trace id is the ring's, once per trace
    // Upper-case hex is kept as the text it is: read back as given, as the store indexes it.
    const upper = { ...base, spanId: "ABCDEF".padEnd(16, "0") };
    expect(roundTrip(upper).spanId).toBe(upper.spanId);
    // 6,000 distinct agent names: the first 4,096 become table entries, the rest are written out, all read back.
    for (let i = 0; i < 6_000; i++) {
      const span = { ...base, attributes: { "hearth.agent.name": `agent-${i}`, "url.path": `/agents/a/agent-${i}` } };
      expect(roundTrip(span).attributes).toEqual(span.attributes);
    }
    // Keys keep their own share of the table: a new key after all those values is still a table entry.
    const withNewKey = { ...base, attributes: { "a.key.first.seen.late": 1 } };
    codec.encode(withNewKey);
    expect(codec.encode(withNewKey)).toBe(codec.encode({ ...base, attributes: { "hearth.agent.class": 1 } })); // both 2-byte indexes
    expect(roundTrip(withNewKey).attributes).toEqual({ "a.key.first.seen.late": 1 });
  });

  it("writes values that are new each time (request ids) out, so they never fill the table of values", () => {
    const codec = new SpanCodec();
    const base = makeSpan(seededRandom(8), 1);
    for (let i = 0; i < 5_000; i++) codec.encode({ ...base, attributes: { "hearth.request.id": hex(i, 16) } });
    const named = (name: string) => codec.encode({ ...base, attributes: { "hearth.agent.name": name } });
    named("seen");
    expect(named("first seen now")).toBe(named("seen")); // still room: a 3-byte index for each name
  });

  it("keeps attribute keys and names beyond its table of repeated strings", () => {
    const codec = new SpanCodec();
    const next = seededRandom(2);
    for (let i = 0; i < 5_000; i++) {
      const span = { ...makeSpan(next, i), name: `name ${i}`, attributes: { [`key ${i}`]: i } };
      const size = codec.encode(span);
      const copy = Buffer.from(codec.scratch.subarray(0, size));
      expect(codec.decode(copy, new DataView(copy.buffer, copy.byteOffset, copy.byteLength), 0, "t")).toMatchObject({ name: `name ${i}`, attributes: { [`key ${i}`]: i } });
    }
  });
});

describe("a span's long attribute value", () => {
  it("is cut at the limit, never between the two halves of a surrogate pair, and survives the codec", () => {
    const ended: SpanRecord[] = [];
    const span = new HearthSpan({ context: { traceId: hex(1, 32), spanId: hex(1, 16), traceFlags: 1 }, parentSpanId: undefined, name: "cut", kind: 0, onEnd: (record) => ended.push(record) });
    // A 𝄞 (two UTF-16 units) straddles the cut.
    span.setAttribute("cut", `${"a".repeat(SPAN_LIMITS.maxAttributeLength - 2)}𝄞${"b".repeat(10)}`);
    span.end();
    const value = ended[0]!.attributes.cut as string;
    expect(value).toBe(`${"a".repeat(SPAN_LIMITS.maxAttributeLength - 2)}…`);
    const codec = new SpanCodec();
    const copy = Buffer.from(codec.scratch.subarray(0, codec.encode(ended[0]!)));
    expect(codec.decode(copy, new DataView(copy.buffer, copy.byteOffset, copy.byteLength), 0, "t").attributes.cut).toBe(value);
  });
});

describe("a hook's own attributes object", () => {
  const context = { traceId: hex(2, 32), spanId: hex(2, 16), traceFlags: 1 };
  it("is kept with its long values cut in place, and counts toward the attribute limit", () => {
    const ended: SpanRecord[] = [];
    const attributes = { path: "p".repeat(SPAN_LIMITS.maxAttributeLength + 50), method: "GET" };
    const span = new HearthSpan({ context, parentSpanId: undefined, name: "GET", kind: 1, attributes, attributesOwned: true, onEnd: (record) => ended.push(record) });
    for (let i = 0; i < SPAN_LIMITS.maxAttributes; i++) span.setAttribute(`extra ${i}`, i);
    span.end();
    expect(ended[0]!.attributes.path).toBe(`${"p".repeat(SPAN_LIMITS.maxAttributeLength - 1)}…`);
    expect(Object.keys(ended[0]!.attributes)).toHaveLength(SPAN_LIMITS.maxAttributes);
    expect(ended[0]!.dropped).toBe(2); // the two it started with took two places
  });

  it("is copied instead when it holds an undefined value or more than the limit", () => {
    const ended: SpanRecord[] = [];
    const holey = { a: 1, b: undefined };
    new HearthSpan({ context, parentSpanId: undefined, name: "x", kind: 0, attributes: holey, attributesOwned: true, onEnd: (record) => ended.push(record) }).end();
    expect(ended[0]!.attributes).toEqual({ a: 1 });
    const many = Object.fromEntries(Array.from({ length: SPAN_LIMITS.maxAttributes + 3 }, (_, i) => [`k${i}`, i]));
    new HearthSpan({ context, parentSpanId: undefined, name: "y", kind: 0, attributes: many, attributesOwned: true, onEnd: (record) => ended.push(record) }).end();
    expect(Object.keys(ended[1]!.attributes)).toHaveLength(SPAN_LIMITS.maxAttributes);
    expect(ended[1]!.dropped).toBe(3);
  });
});

/** The same rules over plain arrays: traces in the order first seen, the oldest leaves first. */
class Model {
  readonly traces = new Map<string, SpanRecord[]>();
  private readonly limits: SpanRingLimits;
  constructor(limits: SpanRingLimits) {
    this.limits = limits;
  }

  add(span: SpanRecord): "trace full" | undefined {
    const trace = this.traces.get(span.traceId);
    if (trace && trace.length >= this.limits.maxSpansPerTrace) return "trace full";
    if (trace) trace.push(span);
    else this.traces.set(span.traceId, [span]);
    let spans = [...this.traces.values()].reduce((sum, list) => sum + list.length, 0);
    while (this.traces.size > this.limits.maxTraces || (spans > this.limits.maxSpans && this.traces.size > 1)) {
      const [oldest, list] = this.traces.entries().next().value!;
      this.traces.delete(oldest);
      spans -= list.length;
    }
    return undefined;
  }

  /** Evicts the oldest traces (the ring ran out of bytes) until `count` are left. */
  evictTo(count: number): void {
    while (this.traces.size > count) this.traces.delete(this.traces.keys().next().value!);
  }
}

function expectSame(ring: SpanRing, model: Model): void {
  expect([...ring.grouped()]).toEqual([...model.traces]);
  expect(ring.traceCount).toBe(model.traces.size);
  expect(ring.spanCount).toBe([...model.traces.values()].reduce((sum, list) => sum + list.length, 0));
}

describe("SpanRing", () => {
  it("holds what the plain model holds through thousands of adds, wraps and evictions by count", () => {
    const limits = { maxBytes: 64 * 1024, maxSpans: 60, maxTraces: 12, maxSpansPerTrace: 9 };
    const ring = new SpanRing(limits);
    const model = new Model(limits);
    const next = seededRandom(3);
    for (let i = 0; i < 6_000; i++) {
      const span = makeSpan(next, Math.floor(next() * 30)); // 30 trace ids for 12 places: traces leave and come back
      expect(ring.add(span)).toBe(model.add(span));
      if (i % 97 === 0) expectSame(ring, model);
      if (i % 89 === 0) {
        for (const [traceId, spans] of model.traces) expect(ring.trace(traceId)).toEqual(spans);
      }
    }
    expectSame(ring, model);
    expect(ring.evicted).toBeGreaterThan(1_000);
  });

  it("evicts the oldest traces when the bytes run out, and keeps every kept trace whole", () => {
    const limits = { maxBytes: 16 * 1024, maxSpans: 10_000, maxTraces: 1_000, maxSpansPerTrace: 1_000 };
    const ring = new SpanRing(limits);
    const model = new Model(limits);
    const next = seededRandom(4);
    for (let i = 0; i < 4_000; i++) {
      const trace = Math.floor(next() * 40);
      const span = makeSpan(next, trace, next() < 0.02 ? 3_000 : 0); // now and then a span of several KB
      const had = model.traces.get(span.traceId)?.length ?? 0;
      expect(ring.add(span)).toBeUndefined();
      // Bytes ran out: the ring evicted its oldest traces, possibly this span's own (which then starts again).
      if (had > 0 && ring.trace(span.traceId)!.length === 1) model.traces.delete(span.traceId);
      model.add(span);
      model.evictTo(ring.traceCount);
      if (i % 50 === 0) expectSame(ring, model);
    }
    expectSame(ring, model);
    expect(ring.bytes).toBeLessThanOrEqual(limits.maxBytes);
  });

  it("refuses a span larger than half its bytes, and a span of a full trace", () => {
    const ring = new SpanRing({ maxBytes: 8 * 1024, maxSpans: 100, maxTraces: 10, maxSpansPerTrace: 1 });
    const next = seededRandom(5);
    expect(ring.add({ ...makeSpan(next, 1), attributes: { big: "x".repeat(5_000) } })).toBe("too large");
    expect(ring.add(makeSpan(next, 1))).toBeUndefined();
    expect(ring.add(makeSpan(next, 1))).toBe("trace full");
    expect(ring.spanCount).toBe(1);
  });

  it("starts small and grows its soft end only while it is busy", () => {
    const ring = new SpanRing({ maxBytes: 32 * 1024 * 1024, maxSpans: 100_000, maxTraces: 100, maxSpansPerTrace: 10 });
    const next = seededRandom(6);
    expect(ring.bytes).toBe(0); // nothing allocated before the first span
    for (let i = 0; i < 20_000; i++) ring.add(makeSpan(next, i));
    // 100 small traces live: the ring wraps within its first 256 KB instead of sweeping 32 MB.
    expect(ring.bytes).toBe(256 * 1024);
    expect(ring.traceCount).toBe(100);
  });
});
