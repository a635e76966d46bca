/**
 * The span store: memory limits (traces, spans, spans per trace), filters and pages, the SQLite file
 * with retention by age and row count, and the errors bad settings and queries get.
 */
import { randomBytes } from "node:crypto";
import { loggedErrors } from "../../support/logged-errors.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SpanStore, type SpanRecord } from "../../../src/observability/traces/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";

let dir: string | undefined;
const stores: SpanStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function open(options: ConstructorParameters<typeof SpanStore>[0] = {}): SpanStore {
  const store = new SpanStore(options);
  stores.push(store);
  return store;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
let spanSeq = 0;

function span(trace: number, fields: Partial<SpanRecord> & { start?: number; ms?: number } = {}): SpanRecord {
  const { start = 1_000 * trace, ms = 10, ...rest } = fields;
  return {
    traceId: hex(trace + 1, 32),
    spanId: hex(++spanSeq, 16),
    name: "work",
    kind: "internal",
    startedAt: start,
    endedAt: start + ms,
    status: { code: 0 },
    attributes: {},
    events: [],
    links: [],
    ...rest,
  };
}

const chat = (trace: number, model: string, input: number, output: number, cost?: number) =>
  span(trace, {
    name: `chat ${model}`,
    parentSpanId: "00000000000000aa",
    attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.usage.input_tokens": input, "gen_ai.usage.output_tokens": output, ...(cost === undefined ? {} : { "hearth.cost.usd": cost }) },
  });

describe("SpanStore in memory", () => {
  it("summarises traces and filters them by class, agent, conversation, model, error, duration and cost", () => {
    const store = open();
    store.add(span(1, { name: "GET", ms: 50, attributes: { "hearth.agent.class": "Support", "hearth.agent.name": "alice" } }));
    store.add(chat(1, "gpt-5", 100, 20, 0.5));
    store.add(chat(1, "gpt-5-mini", 10, 2, 0.25));
    store.add(span(2, { name: "rpc ping", ms: 5, status: { code: 2, message: "boom" }, attributes: { "hearth.agent.class": "Billing", "hearth.agent.name": "bob", "gen_ai.conversation.id": "c-9" } }));
    const [second, first] = store.listTraces().items;
    expect(first).toMatchObject({ rootName: "GET", class: "Support", agent: "alice", models: ["gpt-5", "gpt-5-mini"], tokens: 132, costUsd: 0.75, spans: 3, error: false, durationMs: 50 });
    expect(second).toMatchObject({ rootName: "rpc ping", class: "Billing", agent: "bob", conversation: "c-9", error: true, tokens: 0 });
    const ids = (query: Parameters<SpanStore["listTraces"]>[0]) => store.listTraces(query).items.map((item) => item.agent);
    expect(ids({ class: "Support" })).toEqual(["alice"]);
    expect(ids({ agent: "bob" })).toEqual(["bob"]);
    expect(ids({ conversation: "c-9" })).toEqual(["bob"]);
    expect(ids({ model: "gpt-5-mini" })).toEqual(["alice"]);
    expect(ids({ error: true })).toEqual(["bob"]);
    expect(ids({ error: false })).toEqual(["alice"]);
    expect(ids({ minDurationMs: 20 })).toEqual(["alice"]);
    expect(ids({ minCostUsd: 0.7 })).toEqual(["alice"]);
    expect(ids({ minCostUsd: 0.8 })).toEqual([]);
  });

  it("pages newest first with a cursor that neither skips nor repeats", () => {
    const store = open();
    for (let i = 0; i < 7; i++) store.add(span(i));
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = store.listTraces({ limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((item) => item.startedAt));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([6000, 5000, 4000, 3000, 2000, 1000, 0]);
  });

  it("keeps at most maxTraces traces and maxSpans spans, dropping the oldest traces first", () => {
    const store = open({ maxTraces: 3, maxSpans: 5 });
    for (let i = 0; i < 5; i++) store.add(span(i));
    expect(store.listTraces().items.map((item) => item.startedAt)).toEqual([4000, 3000, 2000]);
    store.add(span(4));
    store.add(span(4));
    store.add(span(4));
    expect(store.stats()).toMatchObject({ traces: 2, spans: 5, evictedTraces: 3 });
    expect(store.getTrace(hex(1, 32))).toBeUndefined();
  });

  it("keeps at most maxSpansPerTrace spans of one trace and counts the rest", () => {
    const store = open({ maxSpansPerTrace: 2 });
    for (let i = 0; i < 5; i++) store.add(span(1));
    expect(store.getTrace(hex(2, 32))!.spans).toHaveLength(2);
    expect(store.stats().droppedSpans).toBe(3);
  });

  it("tells subscribers about each span as it is added", () => {
    const store = open();
    const names: string[] = [];
    const off = store.subscribe((s) => names.push(s.name));
    store.add(span(1, { name: "a" }));
    off();
    store.add(span(1, { name: "b" }));
    expect(names).toEqual(["a"]);
  });

  it("keeps spans added in one turn by its end, and any read sees them at once", async () => {
    const store = open();
    const names: string[] = [];
    store.subscribe((s) => names.push(s.name));
    for (let i = 0; i < 3; i++) store.add(span(1, { name: `n${i}` }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(names).toEqual(["n0", "n1", "n2"]);
    store.add(span(2, { name: "read at once" }));
    expect(store.getTrace(hex(3, 32))!.spans.map((s) => s.name)).toEqual(["read at once"]);
    // A loop that never yields does not queue without bound: past 64 spans they are kept as they come.
    for (let i = 0; i < 200; i++) store.add(span(4 + i));
    expect(names.length).toBeGreaterThanOrEqual(1 + 3 + 192);
  });

  it("tells a subscriber only of spans added after it subscribed, and a malformed span loses only itself", async () => {
    const store = open();
    store.add(span(1, { name: "before" }));
    const names: string[] = [];
    store.subscribe((s) => names.push(s.name));
    const errors = loggedErrors();
    try {
      store.add({ ...span(1, { name: "broken" }), events: undefined as unknown as [] });
      store.add(span(1, { name: "after" }));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      errors.restore();
    }
    expect(names).toEqual(["after"]);
    expect(errors.text()).toContain("could not keep a span");
    expect(store.getTrace(hex(2, 32))!.spans.map((s) => s.name)).toEqual(["before", "after"]);
  });

  it("refuses bad limits and bad queries with errors that name them", () => {
    expect(() => open({ maxTraces: 0 })).toThrow("traces maxTraces must be a positive integer, got 0");
    expect(() => open({ maxSpans: 1.5 })).toThrow("traces maxSpans must be a positive integer, got 1.5");
    expect(() => open({ maxBytes: 1_000 })).toThrow("traces maxBytes must be from 65536 to 1073741824, got 1000");
    const store = open();
    store.add(span(1));
    expect(() => store.listTraces({ limit: 501 })).toThrow("traces: limit must be an integer from 1 to 500, got 501");
    expect(() => store.listTraces({ minDurationMs: -1 })).toThrow("traces: minDurationMs must be a number >= 0, got -1");
    expect(() => store.listTraces({ minCostUsd: Number.NaN })).toThrow("traces: minCostUsd must be a number >= 0, got NaN");
    expect(() => store.listTraces({ cursor: "nope" })).toThrow('traces: cursor "nope" is not one this store gave');
    expect(store.stats().spans).toBe(1); // nothing lost
  });
});

describe("SpanStore with a SQLite file", () => {
  it("keeps spans across a restart and finds traces pushed out of memory", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-spans-"));
    const path = join(dir, "deep", "spans.sqlite");
    const first = open({ maxTraces: 2, persist: { path }, now: () => 5_000 });
    for (let i = 0; i < 4; i++) first.add(span(i, { name: `root ${i}` }));
    expect(first.stats().traces).toBe(2); // in memory
    // Listed from memory and from the file alike, newest first.
    expect(first.listTraces().items.map((item) => item.rootName)).toEqual(["root 3", "root 2", "root 1", "root 0"]);
    expect(first.getTrace(hex(1, 32))!.spans.map((s) => s.name)).toEqual(["root 0"]); // from the file
    first.close();
    stores.length = 0;
    const second = open({ maxTraces: 2, persist: { path }, now: () => 5_000 });
    expect(second.listTraces().items.map((item) => item.rootName)).toEqual(["root 3", "root 2", "root 1", "root 0"]);
    expect(second.getTrace(hex(2, 32))!.spans[0]).toMatchObject({ name: "root 1", startedAt: 1000, endedAt: 1010 });
  });

  it("summarises a file trace from every batch that wrote it, and one written at once from that batch", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-spans-"));
    const store = open({ maxTraces: 1, persist: { path: join(dir, "spans.sqlite") }, now: () => 5_000 });
    store.add(span(7, { name: "turn" }));
    store.add(chat(7, "m-a", 10, 5, 0.5));
    store.flush(); // the trace's first batch
    store.add(chat(7, "m-b", 1, 2, 0.25));
    store.flush(); // a later span of it, in a batch of its own
    store.add(span(8, { name: "other" }));
    store.add(chat(8, "m-c", 3, 4));
    store.flush();
    store.add(span(9, { name: "newest" })); // pushes 7 and 8 out of memory: their summaries come from the file
    const byRoot = new Map(store.listTraces().items.map((item) => [item.rootName, item]));
    expect(byRoot.get("turn")).toMatchObject({ spans: 3, tokens: 18, costUsd: 0.75, models: ["m-a", "m-b"], startedAt: 7_000 });
    expect(byRoot.get("other")).toMatchObject({ spans: 2, tokens: 7, models: ["m-c"], startedAt: 8_000 });
  });

  it("deletes spans older than maxAgeMs and beyond maxRows", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-spans-"));
    const clock = new VirtualClock({ start: 100_000 });
    const store = open({ persist: { path: join(dir, "spans.sqlite"), maxAgeMs: 50_000, maxRows: 3 }, now: () => clock.now() });
    store.add(span(10, { start: 10_000 })); // ends at 10_010: older than 100_000 - 50_000
    for (let i = 60; i < 64; i++) store.add(span(i, { start: i * 1000 }));
    expect(store.retain()).toBe(2); // one too old, one over the row limit
    expect(store.getTrace(hex(11, 32))!.spans).toHaveLength(1); // still in memory
    store.close();
    stores.length = 0;
    const reopened = open({ persist: { path: join(dir, "spans.sqlite"), maxAgeMs: 50_000, maxRows: 3 }, now: () => clock.now() });
    expect(reopened.listTraces().items.map((item) => item.startedAt)).toEqual([63_000, 62_000, 61_000]);
    clock.dispose();
  });

  it("filters and pages across memory and the file, listing a trace in both once", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-spans-"));
    const store = open({ maxTraces: 3, persist: { path: join(dir, "spans.sqlite") }, now: () => 5_000_000 });
    // Ten traces, one a second; the odd ones failed. Memory keeps the newest three.
    for (let i = 0; i < 10; i++) store.add(span(i, { start: 1_000 * (i + 1), ...(i % 2 === 1 ? { status: { code: 2, message: "boom" } } : {}) }));
    const failed: number[] = [];
    let cursor: string | undefined;
    do {
      const page = store.listTraces({ error: true, limit: 2, ...(cursor ? { cursor } : {}) });
      failed.push(...page.items.map((item) => item.startedAt));
      cursor = page.cursor;
    } while (cursor);
    expect(failed).toEqual([10_000, 8_000, 6_000, 4_000, 2_000]);
    const all = store.listTraces({ limit: 500 }).items.map((item) => item.traceId);
    expect(all).toHaveLength(10);
    expect(new Set(all).size).toBe(10);
  });

  it("refuses a bad retention setting", () => {
    const where = (dir = mkdtempSync(join(tmpdir(), "hearth-spans-")));
    expect(() => open({ persist: { path: join(where, "s.sqlite"), maxRows: 0 } })).toThrow("traces persist.maxRows must be a positive number, got 0");
  });
});

describe("SpanStore's edges", () => {
  const tempPath = () => join((dir = mkdtempSync(join(tmpdir(), "hearth-spans-"))), "spans.sqlite");
  const now = () => 10_000_000; // the spans' times are small numbers: retention must not see them as old

  it("keeps traces whose ids differ only in case apart, and pages over ids of any form", () => {
    const store = open();
    const lower = "0af7651916cd43dd8448eb211c80319c";
    store.add({ ...span(1), traceId: lower.toUpperCase() });
    store.add({ ...span(2), traceId: lower });
    store.add({ ...span(3), traceId: "trace-from-elsewhere" });
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = store.listTraces({ limit: 1, ...(cursor ? { cursor } : {}) });
      ids.push(...page.items.map((item) => item.traceId));
      cursor = page.cursor;
    } while (cursor);
    expect(ids.sort()).toEqual([lower.toUpperCase(), lower, "trace-from-elsewhere"].sort());
    expect(store.getTrace(lower.toUpperCase())!.spans).toHaveLength(1);
  });

  it("never evicts the trace a span is being added to, to keep the span count", () => {
    const path = tempPath();
    const store = open({ maxSpans: 3, persist: { path, sampleRatio: 0 }, now });
    store.add(span(1));
    store.add(span(1));
    store.add(span(2));
    store.add({ ...span(1), status: { code: 2, message: "boom" } }); // worth keeping: trace 1 goes to the file whole
    expect(store.getTrace(span(2).traceId)).toBeUndefined(); // the other, younger trace left instead
    expect(store.stats()).toMatchObject({ traces: 1, spans: 3 });
    store.close();
    stores.length = 0;
    expect(open({ persist: { path }, now }).getTrace(span(1).traceId)?.spans).toHaveLength(3);
  });

  it("after a restart, writes a kept trace's later spans once, and gives a trace whole from memory and the file together", () => {
    const path = tempPath();
    const first = open({ persist: { path, sampleRatio: 0 }, now });
    first.add(span(1));
    first.add({ ...span(1), status: { code: 2, message: "boom" } });
    first.close();
    stores.length = 0;
    const second = open({ maxTraces: 1, persist: { path, sampleRatio: 0 }, now });
    second.add({ ...span(1), status: { code: 2, message: "again" } });
    second.add(span(2)); // trace 1 leaves memory
    second.add({ ...span(1), name: "late" }); // and comes back with a later span
    const spans = second.getTrace(span(1).traceId)!.spans;
    expect(spans).toHaveLength(4);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(4);
    // Listed as the file has it whole, not as the one span memory holds now.
    expect(second.listTraces().items.find((item) => item.traceId === span(1).traceId)?.spans).toBe(4);
  });

  it("pages on from where a bounded file scan stopped, so that file traces older than memory's are not skipped", () => {
    const store = open({ maxTraces: 10, persist: { path: tempPath() }, now: () => 10_000_000 });
    const tagged = (trace: number, start: number, cls: string) => ({ ...span(trace, { start }), attributes: { "hearth.agent.class": cls } });
    for (let i = 0; i < 3; i++) store.add(tagged(1 + i, 100 + i, "A")); // matching, only in the file in the end
    for (let i = 0; i < 20_600; i++) store.add(tagged(100 + i, 10_000 + i, "B")); // newer, not matching: more than one scan
    for (let i = 0; i < 10; i++) store.add(tagged(50_000 + i, 50 + i, "A")); // matching, in memory, the oldest
    const starts: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      const page = store.listTraces({ class: "A", limit: 5, ...(cursor ? { cursor } : {}) });
      starts.push(...page.items.map((item) => item.startedAt));
      cursor = page.cursor;
      if (!cursor) break;
    }
    expect(starts).toEqual([102, 101, 100, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50]);
  });

  it("retention deletes whole traces, with their summaries", () => {
    const store = open({ maxTraces: 1, persist: { path: tempPath(), maxRows: 2 }, now: () => 10_000_000 });
    store.add(span(1, { start: 100 }));
    store.add(span(1, { start: 101 }));
    store.add(span(2, { start: 200 }));
    expect(store.retain()).toBe(2); // trace 1's two spans: one was beyond the row limit
    store.add(span(3, { start: 300 })); // memory now holds trace 3 alone
    expect(store.listTraces().items.map((item) => item.startedAt)).toEqual([300, 200]);
    expect(store.getTrace(hex(2, 32))).toBeUndefined();
  });
});

describe("SpanStore's file with sampleRatio below 1", () => {
  it("writes whole traces that had an error, a model call or a slow span, and about sampleRatio of the rest", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-spans-"));
    const path = join(dir, "spans.sqlite");
    const now = () => 5_000_000; // the spans' times are small numbers: retention must not see them as old
    const store = open({ maxTraces: 5_000, maxSpans: 50_000, persist: { path, sampleRatio: 0.1, slowMs: 500 }, now });
    for (let i = 0; i < 2_000; i++) store.add({ ...span(i), traceId: randomBytes(16).toString("hex") });
    // Traces of three spans each, ending one after another: the ratio keeps a trace whole or not at all.
    const threes = Array.from({ length: 600 }, () => randomBytes(16).toString("hex"));
    for (const traceId of threes) for (const name of ["a", "b", "c"]) store.add({ ...span(4_000, { name }), traceId });
    // A child ends first; the error on its parent makes the file keep both.
    const child = span(3_000, { name: "child" });
    store.add(child);
    store.add({ ...span(3_000, { name: "failed root" }), status: { code: 2, message: "boom" } });
    store.add(span(3_000, { name: "after" })); // a trace the file keeps gets its later spans too
    store.add({ ...span(3_001, { name: "chat gpt-5" }), attributes: { "gen_ai.operation.name": "chat" } });
    store.add(span(3_002, { name: "slow", ms: 800 }));
    store.flush();
    store.close();
    stores.length = 0;
    const reopened = open({ maxTraces: 5_000, maxSpans: 50_000, persist: { path }, now });
    // About 10% of 2,000 random trace ids (binomial: 200 ± 13; the bounds are 6 standard deviations out).
    const kept = threes.filter((traceId) => reopened.getTrace(traceId) !== undefined);
    for (const traceId of kept) expect(reopened.getTrace(traceId)!.spans.map((s) => s.name)).toEqual(["a", "b", "c"]);
    // About 10% of 600 (60 ± 7; the bounds are 5 standard deviations out).
    expect(kept.length).toBeGreaterThan(23);
    expect(kept.length).toBeLessThan(97);
    const ordinary = reopened.stats().traces - 3 - kept.length;
    expect(ordinary).toBeGreaterThan(120);
    expect(ordinary).toBeLessThan(280);
    expect(reopened.getTrace(hex(3_001, 32))!.spans.map((s) => s.name).sort()).toEqual(["after", "child", "failed root"]);
    expect(reopened.getTrace(hex(3_002, 32))!.spans.map((s) => s.name)).toEqual(["chat gpt-5"]);
    expect(reopened.getTrace(hex(3_003, 32))!.spans.map((s) => s.name)).toEqual(["slow"]);
  });

  it("refuses a sampleRatio outside 0–1", () => {
    const where = (dir = mkdtempSync(join(tmpdir(), "hearth-spans-")));
    expect(() => open({ persist: { path: join(where, "s.sqlite"), sampleRatio: 2 } })).toThrow("traces persist.sampleRatio must be from 0 to 1, got 2");
  });
});
