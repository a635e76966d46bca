import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, runWithLogContext } from "../../../src/observability/logs/index.ts";
import { LogStore, logQueryFromParams, type LogEntry } from "../../../src/observability/store/index.ts";

let dir: string;
const stores: LogStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-logstore-"));
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(options: ConstructorParameters<typeof LogStore>[0] = {}): LogStore {
  const store = new LogStore(options);
  stores.push(store);
  return store;
}

/** A logger writing only to the store (the JSON lines go nowhere), with a settable clock. */
function loggerInto(store: LogStore, clock = { t: 1_000 }) {
  return createLogger({ level: "trace", base: null, onRecord: store.onRecord, destination: { write: () => true }, now: () => clock.t });
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("LogStore in memory", () => {
  it("keeps the logger's records as entries with the API's field names", () => {
    const store = open();
    const log = loggerInto(store);
    runWithLogContext({ requestId: "r-1", traceId: "a".repeat(32), spanId: "b".repeat(16) }, () => log.info({ user: "ada" }, "signed in"));
    const [entry] = store.query().items;
    expect(entry).toEqual({ id: 1, time: 1_000, level: 30, msg: "signed in", requestId: "r-1", traceId: "a".repeat(32), spanId: "b".repeat(16), user: "ada" });
  });

  it("maps an agent's class and instance name to class and agent, and leaves a plain name field alone", () => {
    const store = open();
    store.onRecord({ level: 30, time: 1, agent: "Chat", name: "a", msg: "in agent" });
    store.onRecord({ level: 30, time: 2, name: "just a field", msg: "outside" });
    const [outside, inside] = store.query().items;
    expect(inside).toMatchObject({ class: "Chat", agent: "a", msg: "in agent" });
    expect(inside).not.toHaveProperty("name");
    expect(outside).toMatchObject({ name: "just a field" });
    expect(outside).not.toHaveProperty("agent");
  });

  it("filters by minimum level, class, agent, trace id, text and time, newest first", () => {
    const store = open();
    const clock = { t: 100 };
    const log = loggerInto(store, clock);
    log.debug("boot");
    clock.t = 200;
    store.onRecord({ level: 40, time: 200, agent: "Chat", name: "a", trace_id: "f".repeat(32), msg: "Slow Reply" });
    clock.t = 300;
    store.onRecord({ level: 50, time: 300, agent: "Chat", name: "b", msg: "failed", err: { type: "TypeError", message: "x is undefined", stack: "" } });
    store.onRecord({ level: 30, time: 400, agent: "Mail", name: "a", msg: "sent" });
    const msgs = (query: Parameters<LogStore["query"]>[0]) => store.query(query).items.map((entry) => entry.msg);
    expect(msgs({})).toEqual(["sent", "failed", "Slow Reply", "boot"]);
    expect(msgs({ level: "warn" })).toEqual(["failed", "Slow Reply"]);
    expect(msgs({ level: 50 })).toEqual(["failed"]);
    expect(msgs({ level: "40" })).toEqual(["failed", "Slow Reply"]);
    expect(msgs({ class: "Chat" })).toEqual(["failed", "Slow Reply"]);
    expect(msgs({ class: "Chat", agent: "a" })).toEqual(["Slow Reply"]);
    expect(msgs({ agent: "a" })).toEqual(["sent", "Slow Reply"]);
    expect(msgs({ traceId: "F".repeat(32) })).toEqual(["Slow Reply"]);
    expect(msgs({ q: "slow" })).toEqual(["Slow Reply"]);
    expect(msgs({ q: "TYPEERROR: X IS" })).toEqual(["failed"]);
    expect(msgs({ since: 300 })).toEqual(["sent", "failed"]);
  });

  it("pages with an opaque cursor until next is null", () => {
    const store = open();
    for (let i = 0; i < 7; i++) store.onRecord({ level: 30, time: i, msg: `m${i}` });
    const first = store.query({ limit: 3 });
    expect(first.items.map((entry) => entry.msg)).toEqual(["m6", "m5", "m4"]);
    const second = store.query({ limit: 3, cursor: first.next! });
    expect(second.items.map((entry) => entry.msg)).toEqual(["m3", "m2", "m1"]);
    const third = store.query({ limit: 3, cursor: second.next! });
    expect(third).toEqual({ items: [expect.objectContaining({ msg: "m0" })], next: null });
  });

  it("refuses bad queries with errors that name the limit, and keeps what it holds", () => {
    const store = open();
    store.onRecord({ level: 30, time: 1, msg: "kept" });
    expect(() => store.query({ limit: 501 })).toThrow("limit must be a whole number from 1 to 500, got 501");
    expect(() => store.query({ limit: 0 })).toThrow("limit must be a whole number from 1 to 500, got 0");
    expect(() => store.query({ cursor: "nope" })).toThrow('Invalid cursor "nope": pass the "next" of a previous page');
    expect(() => store.query({ level: "loud" })).toThrow('Unknown log level "loud": use trace, debug, info, warn, error, fatal or a number');
    expect(() => store.query({ q: "x".repeat(257) })).toThrow("q is at most 256 characters, got 257");
    expect(() => store.query({ since: Number.NaN })).toThrow("since must be epoch milliseconds, got null");
    expect(() => new LogStore({ capacity: 0 })).toThrow("capacity must be a whole number from 1 to 1000000, got 0");
    expect(store.query().items.map((entry) => entry.msg)).toEqual(["kept"]);
  });

  it("keeps at most capacity entries and at most maxBytes of them, dropping the oldest", () => {
    const store = open({ capacity: 3 });
    for (let i = 0; i < 5; i++) store.onRecord({ level: 30, time: i, msg: `m${i}` });
    expect(store.query().items.map((entry) => entry.msg)).toEqual(["m4", "m3", "m2"]);
    const small = open({ maxBytes: 300 });
    for (let i = 0; i < 10; i++) small.onRecord({ level: 30, time: i, msg: `${i}`.padEnd(80, "x") });
    small.flush();
    const kept = small.query().items;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(4);
    expect(kept[0]!.msg!.startsWith("9")).toBe(true);
    expect(small.stats.ringBytes).toBeLessThanOrEqual(300);
  });

  it("takes JSON lines as a logger destination, and keeps a line that is not JSON as its message", () => {
    const store = open({ now: () => 42 });
    const log = createLogger({ base: null, destination: store, now: () => 7 });
    log.warn({ agent: "Chat", name: "z" }, "from a line");
    store.write("plain text\n");
    const [plain, line] = store.query().items;
    expect(line).toMatchObject({ time: 7, level: 40, class: "Chat", agent: "z", msg: "from a line" });
    expect(plain).toEqual({ id: 2, time: 42, level: 30, msg: "plain text" });
  });
});

describe("LogStore live tail", () => {
  it("hands new entries to subscribers once per turn, filtered, and stops on unsubscribe", async () => {
    const store = open();
    const seen: LogEntry[] = [];
    const errorsOnly: LogEntry[] = [];
    const stop = store.subscribe((entry) => seen.push(entry));
    store.subscribe((entry) => errorsOnly.push(entry), { filter: { level: "error" } });
    store.onRecord({ level: 30, time: 1, msg: "a" });
    store.onRecord({ level: 50, time: 2, msg: "b" });
    expect(seen).toEqual([]); // writing only pushed
    await nextTurn();
    expect(seen.map((entry) => entry.msg)).toEqual(["a", "b"]);
    expect(errorsOnly.map((entry) => entry.msg)).toEqual(["b"]);
    stop();
    store.onRecord({ level: 30, time: 3, msg: "c" });
    await nextTurn();
    expect(seen.map((entry) => entry.msg)).toEqual(["a", "b"]);
  });

  it("resumes after a Last-Event-ID from the ring, then goes on live without duplicates", async () => {
    const store = open();
    for (let i = 1; i <= 4; i++) store.onRecord({ level: 30, time: i, msg: `m${i}` });
    await nextTurn();
    store.onRecord({ level: 30, time: 5, msg: "m5" }); // not flushed yet: arrives live
    const seen: number[] = [];
    store.subscribe((entry) => seen.push(entry.id), { after: 2 });
    expect(seen).toEqual([3, 4]);
    await nextTurn();
    expect(seen).toEqual([3, 4, 5]);
    expect(store.lastId).toBe(5);
  });

  it("keeps delivering when one subscriber throws", async () => {
    const store = open();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const realError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      store.subscribe(() => {
        throw new Error("broken tail");
      });
      store.subscribe((entry) => seen.push(entry.msg!));
      store.onRecord({ level: 30, time: 1, msg: "still here" });
      store.flush();
    } finally {
      console.error = realError;
    }
    expect(seen).toEqual(["still here"]);
    expect(errors).toHaveLength(1);
  });
});

describe("LogStore with a SQLite file", () => {
  it("keeps entries across a restart and continues their ids", () => {
    const path = join(dir, "nested", "logs.sqlite");
    const first = new LogStore({ path, capacity: 2, now: () => 10 });
    for (let i = 1; i <= 5; i++) first.onRecord({ level: 30, time: i, agent: "Chat", name: `n${i}`, msg: `m${i}` });
    expect(first.query({ limit: 10 }).items.map((entry) => entry.msg)).toEqual(["m5", "m4", "m3", "m2", "m1"]);
    first.close();
    const second = open({ path, now: () => 10 });
    second.onRecord({ level: 30, time: 6, msg: "m6" });
    const page = second.query({ limit: 4 });
    expect(page.items.map((entry) => entry.id)).toEqual([6, 5, 4, 3]);
    expect(second.query({ cursor: page.next! }).items.map((entry) => entry.msg)).toEqual(["m2", "m1"]);
    expect(second.query({ class: "Chat", agent: "n3" }).items).toEqual([{ id: 3, time: 3, level: 30, class: "Chat", agent: "n3", msg: "m3" }]);
  });

  it("filters in SQL the same way as in memory", () => {
    const path = join(dir, "logs.sqlite");
    const withFile = open({ path, now: () => 100 });
    const inMemory = open({ now: () => 100 });
    const records = [
      { level: 20, time: 10, msg: "Debug Ünïcode" },
      { level: 40, time: 20, agent: "Chat", name: "a", trace_id: "c".repeat(32), msg: "warned" },
      { level: 50, time: 30, agent: "Chat", name: "b", msg: "boom", err: { type: "RangeError", message: "Too Big", stack: "" } },
    ];
    for (const record of records) {
      withFile.onRecord({ ...record });
      inMemory.onRecord({ ...record });
    }
    for (const query of [{ level: "warn" }, { class: "Chat", agent: "b" }, { traceId: "c".repeat(32) }, { q: "ünï" }, { q: "rangeerror: too" }, { since: 20 }, { limit: 1 }]) {
      expect(withFile.query(query)).toEqual(inMemory.query(query));
    }
  });

  it("deletes entries past the age and row limits", () => {
    const path = join(dir, "logs.sqlite");
    const clock = { t: 1_000_000 };
    const first = new LogStore({ path, retention: { maxAgeMs: 60_000, maxRows: 3 }, now: () => clock.t });
    first.onRecord({ level: 30, time: clock.t - 120_000, msg: "too old" });
    for (let i = 1; i <= 5; i++) first.onRecord({ level: 30, time: clock.t, msg: `m${i}` });
    first.close();
    // Retention runs when the file opens (and after 1,000 inserts or a minute).
    const second = open({ path, retention: { maxAgeMs: 60_000, maxRows: 3 }, now: () => clock.t });
    expect(second.query().items.map((entry) => entry.msg)).toEqual(["m5", "m4", "m3"]);
    expect(second.stats.stored).toBe(3);
  });

  it("says so when another process holds the file", () => {
    const path = join(dir, "logs.sqlite");
    open({ path }).onRecord({ level: 30, time: 1, msg: "held" });
    stores[0]!.flush();
    expect(() => new LogStore({ path })).toThrow(`${path} is locked by another process. Is a second Hearth running on the same data directory?`);
  });
});

describe("logQueryFromParams", () => {
  it("reads the inspector's URL parameters, leaving out empty ones", () => {
    const params = new URLSearchParams("level=warn&class=Chat&agent=&q=slow&since=100&limit=20&cursor=i5&traceId=abc&other=1");
    expect(logQueryFromParams(params)).toEqual({ level: "warn", class: "Chat", q: "slow", since: 100, limit: 20, cursor: "i5", traceId: "abc" });
    expect(() => logQueryFromParams(new URLSearchParams("since=yesterday"))).toThrow('since must be a whole number, got "yesterday"');
    expect(() => logQueryFromParams(new URLSearchParams("limit=1.5"))).toThrow('limit must be a whole number, got "1.5"');
  });
});
