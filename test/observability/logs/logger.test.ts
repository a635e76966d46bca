import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger, LEVEL_VALUES, MAX_LINE_BYTES, TRUNCATED_MSG_CHARS, type LogRecord } from "../../../src/observability/logs/index.ts";
import { LogStore } from "../../../src/observability/store/index.ts";
import { collector } from "./collect.ts";

const NOW = 1_764_730_000_000;

describe("createLogger: pino's JSON shape", () => {
  it("writes level, time, pid, hostname, fields and msg in pino's order", () => {
    const out = collector();
    const log = createLogger({ destination: out, now: () => NOW });
    log.info("hello world");
    log.info({ user: "ada", n: 1 }, "signed in");
    log.info({ only: true });
    expect(out.lines[0]).toBe(`{"level":30,"time":${NOW},"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"msg":"hello world"}\n`);
    expect(Object.keys(out.at(1))).toEqual(["level", "time", "pid", "hostname", "user", "n", "msg"]);
    expect(out.at(2)).toEqual({ level: 30, time: NOW, pid: process.pid, hostname: hostname(), only: true });
  });

  it("uses pino's level numbers 10 to 60", () => {
    const out = collector();
    const log = createLogger({ destination: out, level: "trace", base: null });
    for (const name of ["trace", "debug", "info", "warn", "error", "fatal"] as const) log[name](name);
    expect(out.records().map((r) => [r.level, r.msg])).toEqual([
      [10, "trace"],
      [20, "debug"],
      [30, "info"],
      [40, "warn"],
      [50, "error"],
      [60, "fatal"],
    ]);
    expect(LEVEL_VALUES).toEqual({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 });
  });

  it("fills printf placeholders as pino does and drops extra arguments", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    log.info("%s has %d items %j", "cart", 3, { a: 1 });
    log.info({ k: 1 }, "n=%i %%", 4.7);
    log.info("extra", "dropped");
    log.info("%s %o %j", { a: 1 }, "quoted", function named() {});
    expect(out.records().map((r) => r.msg)).toEqual(['cart has 3 items {"a":1}', "n=4 %", "extra", "[object Object] 'quoted' named"]);
  });

  it("serializes errors like pino's std serializer: err with type, message, stack; msg from the error", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const error = Object.assign(new TypeError("card declined", { cause: new Error("bank down") }), { code: "E_CARD" });
    log.error(error);
    log.error(error, "payment failed");
    log.warn({ err: new RangeError("too big") }, "checked");
    const [first, second, third] = [out.at(0), out.at(1), out.at(2)];
    expect(first.msg).toBe("card declined");
    expect(first.err).toEqual({
      type: "TypeError",
      message: "card declined: bank down",
      stack: `${error.stack}\ncaused by: ${(error.cause as Error).stack}`,
      code: "E_CARD",
    });
    expect(second.msg).toBe("payment failed");
    expect((third.err as { type: string }).type).toBe("RangeError");
  });

  it("serializes AggregateError members and errors held in properties; a cause cycle ends", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    const aggregate = Object.assign(new AggregateError([new Error("one"), "two"], "many"), { inner: new SyntaxError("bad") });
    log.error(b);
    log.error(aggregate);
    expect((out.at(0).err as { message: string }).message).toBe("b: a: ...");
    expect(out.at(1).err).toMatchObject({
      type: "AggregateError",
      message: "many",
      aggregateErrors: [{ type: "Error", message: "one" }, "two"],
      inner: { type: "SyntaxError", message: "bad" },
    });
  });

  it("child bindings come after the parent's, on every line, and nest", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: { service: "api" } });
    const child = log.child({ module: "billing" }).child({ order: 7 });
    child.info({ amount: 3 }, "paid");
    expect(Object.entries(out.at(0)).filter(([k]) => k !== "time")).toEqual([
      ["level", 30],
      ["service", "api"],
      ["module", "billing"],
      ["order", 7],
      ["amount", 3],
      ["msg", "paid"],
    ]);
    expect((child as unknown as { bindings(): object }).bindings()).toEqual({ service: "api", module: "billing", order: 7 });
  });

  it("filters by level; level can be read and set; isLevelEnabled follows it; children inherit", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    expect(log.level).toBe("info");
    log.debug("hidden");
    expect(log.isLevelEnabled("debug")).toBe(false);
    log.level = "debug";
    log.debug("shown");
    expect(log.isLevelEnabled("debug")).toBe(true);
    const child = log.child({});
    expect(child.level).toBe("debug");
    child.level = "error";
    child.warn("hidden");
    log.warn("parent unchanged");
    log.level = "silent";
    log.fatal("hidden");
    expect(log.isLevelEnabled("fatal")).toBe(false);
    expect(out.records().map((r) => r.msg)).toEqual(["shown", "parent unchanged"]);
  });

  it("refuses an unknown level, naming the levels", () => {
    expect(() => createLogger({ level: "verbose" as "info" })).toThrow(
      'Unknown log level "verbose": use one of trace, debug, info, warn, error, fatal, silent',
    );
    const log = createLogger({ destination: collector() });
    expect(() => {
      log.level = "loud" as "info";
    }).toThrow('Unknown log level "loud"');
    expect(log.level).toBe("info");
  });

  it("refuses a child without bindings", () => {
    const log = createLogger({ destination: collector() });
    expect(() => log.child(null as unknown as Record<string, unknown>)).toThrow("child() needs a bindings object");
  });

  it("writes JSON-safe values: bigint as string, cycles cut, deep values elided, input untouched", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 12; i++) deep = { deep };
    const shared = { x: 1 };
    log.info({ big: 10n, cyclic, deep, pair: [shared, shared], when: new Date(0), fn: () => 1 });
    const record = out.at(0);
    expect(record.big).toBe("10");
    expect(record.cyclic).toEqual({ name: "loop", self: "[Circular]" });
    expect(JSON.stringify(record.deep)).toContain('"[Object]"');
    expect(record.pair).toEqual([{ x: 1 }, { x: 1 }]);
    expect(record.when).toBe("1970-01-01T00:00:00.000Z");
    expect("fn" in record).toBe(false);
    expect(cyclic.self).toBe(cyclic);
  });

  it("never throws: a toJSON returning this, a throwing getter, toJSON, toString or proxy trap", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const fail = (what: string): never => {
      throw new Error(`${what} failed`);
    };
    const self = { id: 1, toJSON: function (this: unknown) { return this; } };
    const getter = Object.defineProperty({ ok: 1 }, "boom", { enumerable: true, get: () => fail("getter") });
    const badJson = { toJSON: () => fail("toJSON") };
    const badString = { toString: () => fail("toString Bearer abcdefgh") };
    const trap = new Proxy({}, { ownKeys: () => fail("trap") });
    expect(() => {
      log.info(self, "self");
      log.info({ nested: self }, "nested");
      log.info(getter, "getter");
      log.info({ badJson }, "toJSON");
      log.info("to string %s", badString);
      log.info(trap, "trap");
      log.info({ trap });
      log.info(new Date(0), "a date as the object");
    }).not.toThrow();
    expect(out.records().map(({ level: _l, time: _t, ...rest }) => rest)).toEqual([
      { id: 1, msg: "self" },
      { nested: { id: 1 }, msg: "nested" },
      { ok: 1, boom: "[Unreadable: getter failed]", msg: "getter" },
      { badJson: "[Unreadable: toJSON failed]", msg: "toJSON" },
      { msg: "[unloggable: toString [Redacted] failed]" },
      { msg: "trap" },
      { trap: "[Unreadable: trap failed]" },
      { msg: "a date as the object" },
    ]);
  });

  it(`cuts a record longer than ${MAX_LINE_BYTES} bytes, keeping level, bindings and the start of msg`, () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null }).child({ module: "big" });
    log.info({ blob: "x".repeat(MAX_LINE_BYTES) }, "y".repeat(TRUNCATED_MSG_CHARS + 10));
    const record = out.at(0);
    expect(out.lines[0]?.length).toBeLessThan(MAX_LINE_BYTES);
    expect(record).toMatchObject({ level: 30, module: "big", truncated: true, msg: "y".repeat(TRUNCATED_MSG_CHARS) });
    expect(record.bytes).toBeGreaterThan(MAX_LINE_BYTES);
    expect("blob" in record).toBe(false);
  });

  it("applies the line limit before the record reaches onRecord (the log store) or the pretty printer", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-logs-"));
    const store = new LogStore({ path: join(dir, "logs.sqlite") });
    try {
      const seen: LogRecord[] = [];
      const out = collector();
      const log = createLogger({ destination: out, base: null, now: () => NOW, onRecord: (r) => (seen.push(r), store.onRecord(r)) });
      log.info({ blob: "b".repeat(1000) }, "y".repeat(5_000_000));
      expect(seen).toEqual([{ level: 30, time: NOW, truncated: true, bytes: out.at(0).bytes, msg: "y".repeat(TRUNCATED_MSG_CHARS) }]);
      expect(out.at(0)).toEqual(seen[0]);
      store.flush();
      const [stored] = store.query({ limit: 1 }).items;
      expect(stored).toMatchObject({ truncated: true, msg: "y".repeat(TRUNCATED_MSG_CHARS) });

      const pretty = collector();
      createLogger({ destination: pretty, base: null, pretty: { colors: false } }).info("z".repeat(5_000_000));
      expect(pretty.lines[0]!.length).toBeLessThan(MAX_LINE_BYTES);
      expect(pretty.lines[0]).toContain("truncated=true");
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hands every written record to onRecord", () => {
    const seen: LogRecord[] = [];
    const log = createLogger({ destination: collector(), base: null, onRecord: (r) => seen.push(r), now: () => NOW });
    log.debug("dropped");
    log.warn({ a: 1 }, "kept");
    expect(seen).toEqual([{ level: 40, time: NOW, a: 1, msg: "kept" }]);
  });
});
