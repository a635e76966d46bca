import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { Schedule } from "../../src/schedule/types.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const START = Date.UTC(2030, 0, 1); // a Tuesday, 00:00 UTC

class Planner extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS ran (callback TEXT, payload TEXT, type TEXT, at INTEGER)`;
  }
  at(date: Date, payload?: unknown) {
    return this.schedule(date, "record", payload);
  }
  in(seconds: number, payload?: unknown, options?: { idempotent?: boolean }) {
    return this.schedule(seconds, "record", payload, options);
  }
  cron(expression: string, payload?: unknown, options?: { timezone?: string; idempotent?: boolean }) {
    return this.schedule(expression, "record", payload, options);
  }
  every(seconds: number, payload?: unknown) {
    return this.scheduleEvery(seconds, "record", payload);
  }
  bad(callback: string) {
    return this.schedule(10, callback as keyof this);
  }
  badWhen(when: unknown) {
    return this.schedule(when as number, "record");
  }
  cancel(id: string) {
    return this.cancelSchedule(id);
  }
  byId(id: string) {
    return this.getScheduleById(id);
  }
  list(criteria?: Parameters<Agent["listSchedules"]>[0]) {
    return this.listSchedules(criteria);
  }
  record(payload: unknown, schedule: Schedule) {
    this.sql`INSERT INTO ran VALUES (${schedule.callback}, ${JSON.stringify(payload ?? null)}, ${schedule.type}, ${Date.now()})`;
  }
  ran() {
    return this.sql<{ payload: string; type: string; at: number }>`SELECT payload, type, at FROM ran ORDER BY rowid`.map((row) => ({
      ...row,
      payload: JSON.parse(row.payload) as unknown,
      at: new Date(row.at).toISOString(),
    }));
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function planner(name = "p") {
  t ??= await createTestEnv({ agents: { Planner }, start: START });
  return t.get<Planner>("Planner", name);
}

describe("schedule()", () => {
  it("runs a Date schedule at its time with (payload, schedule), then deletes it", async () => {
    const p = await planner();
    const s = await p.at(new Date(START + 90_000), { n: 1 });
    expect(s).toMatchObject({ type: "scheduled", callback: "record", payload: { n: 1 }, time: (START + 90_000) / 1000, dueAt: START + 90_000 });
    await t!.clock.advance("89 seconds");
    expect(await p.ran()).toEqual([]);
    await t!.clock.advance("1 second");
    expect(await p.ran()).toEqual([{ payload: { n: 1 }, type: "scheduled", at: "2030-01-01T00:01:30.000Z" }]);
    expect(await p.byId(s.id)).toBeUndefined();
  });

  it("treats a number as seconds of delay and a past Date as due at once", async () => {
    const p = await planner();
    const delayed = await p.in(1.5, "soon");
    expect(delayed).toMatchObject({ type: "delayed", delayInSeconds: 1.5, dueAt: START + 1500 });
    await p.at(new Date(START - 60_000), "overdue");
    await t!.clock.settle();
    expect((await p.ran()).map((r) => r.payload)).toEqual(["overdue"]);
    await t!.clock.advance(1500);
    expect((await p.ran()).map((r) => r.payload)).toEqual(["overdue", "soon"]);
  });

  it("runs a delay of zero or less at once, as the Agents SDK runs a time already past", async () => {
    const p = await planner();
    // What `(deadline - Date.now()) / 1000` gives once the deadline passed.
    const late = await p.in(-5, "late");
    expect(late).toMatchObject({ type: "delayed", delayInSeconds: -5, dueAt: START, time: START / 1000 });
    expect(await p.in(-1e15, "long past")).toMatchObject({ delayInSeconds: -8.64e12, dueAt: START });
    await t!.clock.settle();
    expect(await p.ran()).toEqual([
      { payload: "late", type: "delayed", at: new Date(START).toISOString() },
      { payload: "long past", type: "delayed", at: new Date(START).toISOString() },
    ]);
    expect(await p.list()).toEqual([]);
  });

  it("runs cron schedules at every match, in UTC by default or in a time zone", async () => {
    const p = await planner();
    const utc = await p.cron("30 9 * * 1-5", "utc");
    expect(utc).toMatchObject({ type: "cron", cron: "30 9 * * 1-5", dueAt: Date.UTC(2030, 0, 1, 9, 30) });
    const berlin = await p.cron("0 9 * * *", "berlin", { timezone: "Europe/Berlin" });
    expect(berlin).toMatchObject({ timezone: "Europe/Berlin", dueAt: Date.UTC(2030, 0, 1, 8, 0) });
    await t!.clock.advance("7 days");
    const ran = await p.ran();
    // Tue..Fri and Mon: five weekday runs at 09:30 UTC; seven runs at 08:00 UTC (09:00 in Berlin, winter).
    expect(ran.filter((r) => r.payload === "utc").map((r) => r.at)).toEqual([
      "2030-01-01T09:30:00.000Z",
      "2030-01-02T09:30:00.000Z",
      "2030-01-03T09:30:00.000Z",
      "2030-01-04T09:30:00.000Z",
      "2030-01-07T09:30:00.000Z",
    ]);
    expect(ran.filter((r) => r.payload === "berlin")).toHaveLength(7);
    expect(ran.filter((r) => r.payload === "berlin").every((r) => r.at.endsWith("T08:00:00.000Z"))).toBe(true);
    expect((await p.byId(utc.id))?.dueAt).toBe(Date.UTC(2030, 0, 8, 9, 30));
  });

  it("accepts aliases and makes cron idempotent by default, dates and delays only on request", async () => {
    const p = await planner();
    const a = await p.cron("@daily", "d");
    const b = await p.cron("@daily", "d");
    expect(b.id).toBe(a.id);
    expect((await p.cron("@daily", "d", { idempotent: false })).id).not.toBe(a.id);
    expect((await p.cron("@daily", "other")).id).not.toBe(a.id);
    const x = await p.in(60, "x");
    expect((await p.in(60, "x")).id).not.toBe(x.id);
    expect((await p.in(120, "x", { idempotent: true })).id).toBe(x.id);
    expect(await p.list({ type: "cron" })).toHaveLength(3);
    expect(await p.list({ type: "delayed" })).toHaveLength(2);
  });

  it("refuses an unknown method, a bad when, a bad cron and a bad time zone when scheduling", async () => {
    const p = await planner();
    await expect(p.bad("nope")).rejects.toThrow(/Planner has no method "nope"/);
    await expect(p.bad("constructor")).rejects.toThrow(/no method/);
    await expect(p.badWhen(Number.NaN)).rejects.toThrow(/a delay is a finite number of seconds .*got NaN/);
    await expect(p.badWhen(Number.NEGATIVE_INFINITY)).rejects.toThrow(/finite number of seconds/);
    await expect(p.badWhen(new Date(Number.NaN))).rejects.toThrow(/Date is invalid/);
    await expect(p.badWhen("tomorrow at nine")).rejects.toThrow(/not a cron expression/);
    await expect(p.cron("0 0 0 * * * *")).rejects.toThrow(/not a cron expression/);
    await expect(p.cron("61 * * * *")).rejects.toThrow(/61/);
    await expect(p.cron("0 9 * * *", undefined, { timezone: "Mars/Olympus" })).rejects.toThrow(/Mars\/Olympus/);
    await expect(p.badWhen({})).rejects.toThrow(/Date, a number of seconds, or a cron string/);
    expect(await p.list()).toEqual([]);
  });

  it("refuses a delay ending after the latest time a Date holds (and an interval that long), and the host keeps running the others", async () => {
    const p = await planner();
    await expect(p.in(1e13)).rejects.toThrow(/schedule\(\): a delay of 10000000000000 seconds ends after the latest time a Date can hold/);
    await expect(p.every(1e13)).rejects.toThrow(/scheduleEvery\(\): intervalSeconds cannot exceed 2592000 seconds/);
    expect(await p.list()).toEqual([]);
    // Before, the host's due index kept the time and every later firing crashed the process.
    const other = await planner("other");
    await other.in(5, "after");
    await t!.clock.advance("10 seconds");
    expect((await other.ran()).map((r) => r.payload)).toEqual(["after"]);
  });
});

describe("scheduleEvery()", () => {
  it("repeats at the interval and is idempotent per callback, interval and payload", async () => {
    const p = await planner();
    const a = await p.every(60, "tick");
    expect((await p.every(60, "tick")).id).toBe(a.id);
    expect((await p.every(30, "tick")).id).not.toBe(a.id);
    await p.cancel((await p.every(30, "tick")).id);
    expect(a).toMatchObject({ type: "interval", intervalSeconds: 60, dueAt: START + 60_000 });
    await t!.clock.advance("5 minutes");
    expect((await p.ran()).map((r) => r.at)).toEqual([1, 2, 3, 4, 5].map((m) => new Date(START + m * 60_000).toISOString()));
    expect(await p.list({ type: "interval" })).toHaveLength(1);
  });

  it("refuses intervals below the minimum", async () => {
    const p = await planner();
    await expect(p.every(0)).rejects.toThrow(/minIntervalSeconds/);
    await expect(p.every(Number.POSITIVE_INFINITY)).rejects.toThrow(/minIntervalSeconds/);
  });

  it("takes intervals up to 30 days and refuses longer ones with the Agents SDK's message", async () => {
    const p = await planner();
    expect(await p.every(30 * 86_400)).toMatchObject({ intervalSeconds: 2_592_000, dueAt: START + 2_592_000_000 });
    await expect(p.every(30 * 86_400 + 1)).rejects.toThrow("intervalSeconds cannot exceed 2592000 seconds (30 days)");
    await expect(p.every(31 * 86_400)).rejects.toThrow(RangeError);
    expect(await p.list()).toHaveLength(1);
  });
});

describe("reading and cancelling", () => {
  it("lists by id, type and time range, and cancels with true/false", async () => {
    const p = await planner();
    const one = await p.in(60, 1);
    const two = await p.in(3600, 2);
    const three = await p.cron("0 12 * * *", 3);
    expect((await p.list()).map((s) => s.payload)).toEqual([1, 2, 3]);
    expect((await p.list({ id: two.id })).map((s) => s.id)).toEqual([two.id]);
    const range = { start: new Date(START + 30_000), end: new Date(START + 4_000_000) };
    expect((await p.list({ timeRange: range })).map((s) => s.id)).toEqual([one.id, two.id]);
    await expect(p.list({ timeRange: { start: new Date(Number.NaN) } })).rejects.toThrow("timeRange.start must be a valid Date");
    await expect(p.list({ timeRange: { end: new Date("not a date") } })).rejects.toThrow("timeRange.end must be a valid Date");
    expect((await p.list({ type: "cron" })).map((s) => s.id)).toEqual([three.id]);
    expect(await p.byId(three.id)).toMatchObject({ id: three.id, cron: "0 12 * * *" });
    expect(await p.cancel(one.id)).toBe(true);
    expect(await p.cancel(one.id)).toBe(false);
    expect(await p.cancel("no-such-id")).toBe(false);
    await t!.clock.advance("2 hours");
    expect((await p.ran()).map((r) => r.payload)).toEqual([2]);
  });

  it("keeps each agent's schedules to itself", async () => {
    const a = await planner("a");
    const b = await planner("b");
    const s = await a.in(10, "a");
    expect(await b.cancel(s.id)).toBe(false);
    await t!.clock.advance("10 s");
    expect((await a.ran()).map((r) => r.payload)).toEqual(["a"]);
    expect(await b.ran()).toEqual([]);
  });
});
