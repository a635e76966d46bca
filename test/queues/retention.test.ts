/**
 * Retention on the SQLite store: 14 days by default, the store's `retentionSeconds` (60 s to 14 days,
 * Cloudflare's bounds; its default of 4 days is one of them), and what a shorter retention does to
 * messages stored before it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { QueueProducer } from "../../src/queues/producer.ts";
import { openQueueStore, type QueueStore } from "../../src/queues/store.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { START } from "./helpers.ts";

let dir: string;
let path: string;
let clock: VirtualClock;
let warn: MockInstance<typeof console.warn>;
const stores: QueueStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-queues-retention-"));
  path = join(dir, "queues.sqlite");
  clock = new VirtualClock({ start: START });
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  clock.dispose();
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function open(retentionSeconds?: number): QueueStore {
  const store = openQueueStore({ path, clock, retentionSeconds });
  stores.push(store);
  return store;
}

const backlog = async (store: QueueStore) => (await new QueueProducer({ store, queue: "jobs" }).metrics()).backlogCount;

describe("queue retention on the SQLite store", () => {
  it("keeps a message 14 days by default, then deletes it with a warning", async () => {
    const store = open();
    await new QueueProducer({ store, queue: "jobs" }).send("old");
    await clock.advance("13 days 23 hours");
    expect(await backlog(store)).toBe(1);
    await clock.advance("2 hours"); // the hourly purge after the 14 days
    expect(await backlog(store)).toBe(0);
    expect(warn.mock.calls).toEqual([["[hearth] queues: deleted 1 message(s) older than the 14-day retention"]]);
  });

  it("takes Cloudflare's default of 4 days when asked", async () => {
    const store = open(4 * 86_400);
    await new QueueProducer({ store, queue: "jobs" }).send("old");
    await clock.advance("3 days 23 hours");
    expect(await backlog(store)).toBe(1);
    await clock.advance("2 hours");
    expect(await backlog(store)).toBe(0);
    expect(warn.mock.calls).toEqual([["[hearth] queues: deleted 1 message(s) older than the 4-day retention"]]);
  });

  it("takes another retention, purging at least that often when it is under an hour", async () => {
    const store = open(600);
    await new QueueProducer({ store, queue: "jobs" }).send("short-lived");
    await clock.advance("9 minutes");
    expect(await backlog(store)).toBe(1);
    await clock.advance("11 minutes");
    expect(await backlog(store)).toBe(0);
    expect(warn.mock.calls).toEqual([["[hearth] queues: deleted 1 message(s) older than the 10 m retention"]]);
  });

  it("keeps messages up to 14 days when asked", async () => {
    const store = open(14 * 86_400);
    await new QueueProducer({ store, queue: "jobs" }).send("kept");
    await clock.advance("13 days");
    expect(await backlog(store)).toBe(1);
    await clock.advance("1 day 1 hour");
    expect(await backlog(store)).toBe(0);
    expect(warn).toHaveBeenCalledWith("[hearth] queues: deleted 1 message(s) older than the 14-day retention");
  });

  it("holds messages stored under a longer retention to the new one when the file is opened", async () => {
    const first = open();
    await new QueueProducer({ store: first, queue: "jobs" }).send("from before");
    await clock.advance("5 days");
    expect(await backlog(first)).toBe(1);
    first.close();
    const second = open(4 * 86_400);
    expect(await backlog(second)).toBe(0);
    expect(warn).toHaveBeenCalledWith("[hearth] queues: deleted 1 message(s) older than the 4-day retention");
  });

  it("refuses a retention outside 60 s to 14 days, naming the option", () => {
    for (const bad of [59, 1_209_601, 90.5, Number.NaN]) {
      expect(() => open(bad)).toThrow(new RangeError(`openQueueStore: retentionSeconds must be an integer from 60 to 1209600 (14 days), got ${bad}`));
    }
    expect(() => open(60)).not.toThrow();
  });
});
