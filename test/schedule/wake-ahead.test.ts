import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TaskDispatcher } from "../../src/schedule/dispatcher.ts";
import { DueIndex } from "../../src/schedule/due-index.ts";
import { RunJournal } from "../../src/schedule/run-journal.ts";
import { WakeAhead } from "../../src/schedule/wake-ahead.ts";
import { VirtualClock } from "../../src/time/clock.ts";

const T = Date.UTC(2030, 0, 1);

interface Setup {
  clock: VirtualClock;
  index: DueIndex;
  dispatcher: TaskDispatcher;
  /** [name, virtual ms since T] of each start ahead. */
  warmed: Array<[string, number]>;
  /** [name, virtual ms since T] of each due-time wake. */
  woken: Array<[string, number]>;
}

let dir: string | undefined;
const open: Array<{ dispatcher: TaskDispatcher; index: DueIndex }> = [];

afterEach(() => {
  for (const { dispatcher, index } of open.splice(0)) {
    dispatcher.stop();
    index.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function setup(options: { limit?: number | (() => number); warm?: (name: string) => Promise<void>; next?: (name: string) => number | null } = {}): Setup {
  dir = mkdtempSync(join(tmpdir(), "hearth-wake-ahead-"));
  const clock = new VirtualClock({ start: T });
  const index = new DueIndex(join(dir, "host.sqlite"), "relaxed");
  const warmed: Array<[string, number]> = [];
  const woken: Array<[string, number]> = [];
  const dispatcher = new TaskDispatcher({
    index,
    clock,
    concurrency: 8,
    report: () => {},
    wake: async (_slug, name) => {
      woken.push([name, clock.now() - T]);
      return options.next?.(name) ?? null;
    },
    warm: async (_slug, name) => {
      warmed.push([name, clock.now() - T]);
      await options.warm?.(name);
    },
    wakeAhead: { ms: 1_000, ...(options.limit === undefined ? {} : { limit: options.limit }) },
  });
  open.push({ dispatcher, index });
  return { clock, index, dispatcher, warmed, woken };
}

/** Lets timers that are due already, and the promises they start, run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("waking agents ahead of their due time", () => {
  it("starts an agent `ms` before its entry is due, and runs its tasks at the due time, not before", async () => {
    const s = setup();
    s.index.lowerMany([
      { slug: "a", name: "first", at: T + 5_000 },
      { slug: "a", name: "second", at: T + 5_500 },
      { slug: "a", name: "later", at: T + 20_000 },
    ]);
    s.dispatcher.start();
    await s.clock.advance(3_999);
    await settle();
    expect(s.warmed).toEqual([]);
    await s.clock.advance(1);
    await settle();
    expect(s.warmed).toEqual([["first", 4_000]]);
    await s.clock.advance(500);
    await settle();
    expect(s.warmed).toEqual([["first", 4_000], ["second", 4_500]]);
    expect(s.woken).toEqual([]);
    await s.clock.advance(500);
    await s.dispatcher.idle();
    expect(s.woken).toEqual([["first", 5_000]]);
    await s.clock.advance(14_000);
    await settle();
    expect(s.warmed.map(([name]) => name)).toEqual(["first", "second", "later"]);
    expect(s.warmed[2]).toEqual(["later", 19_000]);
  });

  it("keeps at most `limit` agents started ahead; more start as entries come due", async () => {
    const s = setup({ limit: 3 });
    s.index.lowerMany(Array.from({ length: 10 }, (_, i) => ({ slug: "a", name: `n${i}`, at: T + 2_000 + i * 10 })));
    s.dispatcher.start();
    await s.clock.advance(1_500);
    await settle();
    expect(s.warmed.map(([name]) => name)).toEqual(["n0", "n1", "n2"]);
    expect(s.dispatcher.startedAhead).toBe(3);
    await s.clock.advance(500); // n0 comes due and is leased: one more may start
    await s.dispatcher.idle();
    await settle();
    expect(s.warmed.map(([name]) => name)).toEqual(["n0", "n1", "n2", "n3"]);
    expect(s.dispatcher.startedAhead).toBe(3);
    await s.clock.advance(1_000);
    await s.dispatcher.idle();
    await settle();
    expect(s.woken.map(([name]) => name)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(new Set(s.warmed.map(([name]) => name)).size).toBe(s.warmed.length);
  });

  it("a start that fails does not keep the entry from running at its due time", async () => {
    const s = setup({ warm: async () => Promise.reject(new Error("cannot start")) });
    s.index.lowerMany([{ slug: "a", name: "broken", at: T + 3_000 }]);
    s.dispatcher.start();
    await s.clock.advance(2_500);
    await settle();
    expect(s.warmed).toEqual([["broken", 2_000]]);
    await s.clock.advance(500);
    await s.dispatcher.idle();
    expect(s.woken).toEqual([["broken", 3_000]]);
  });

  it("an agent that leaves memory with something due soon is started again ahead of it", async () => {
    const s = setup();
    s.index.lowerMany([{ slug: "a", name: "far", at: T + 60_000 }]);
    s.dispatcher.start();
    await s.clock.advance(10_000);
    await settle();
    expect(s.warmed).toEqual([]);
    // Hibernates at 10 s with a task due at 10.5 s: inside the window already.
    s.dispatcher.reconcile("a", "sleeper", T + 10_500);
    await settle();
    expect(s.warmed).toEqual([["sleeper", 10_000]]);
    await s.clock.advance(500);
    await s.dispatcher.idle();
    expect(s.woken).toEqual([["sleeper", 10_500]]);
  });

  it("a schedule made later is started ahead too; one due at once is left to the dispatcher", async () => {
    const s = setup();
    s.dispatcher.start();
    s.dispatcher.lower("a", "soon", T + 3_000);
    s.dispatcher.lower("a", "now", T);
    await s.dispatcher.idle();
    await settle();
    expect(s.woken).toEqual([["now", 0]]);
    expect(s.warmed).toEqual([]);
    await s.clock.advance(2_000);
    await settle();
    expect(s.warmed).toEqual([["soon", 2_000]]);
    await s.clock.advance(1_000);
    await s.dispatcher.idle();
    expect(s.woken).toEqual([["now", 0], ["soon", 3_000]]);
  });

  it("entries due at the same time are each started once, up to the limit", async () => {
    const s = setup({ limit: 50 });
    s.index.lowerMany(Array.from({ length: 30 }, (_, i) => ({ slug: "a", name: `same${i}`, at: T + 5_000 })));
    s.dispatcher.start();
    await s.clock.advance(4_000);
    for (let i = 0; i < 20 && s.warmed.length < 30; i++) await settle();
    expect(s.warmed.length).toBe(30);
    expect(new Set(s.warmed.map(([name]) => name)).size).toBe(30);
    expect(s.warmed.every(([, at]) => at === 4_000)).toBe(true);
  });

  it("a limit given as a function is read again: raised, the next look starts the agents it held back", async () => {
    let room = 2;
    const s = setup({ limit: () => room });
    s.index.lowerMany(Array.from({ length: 4 }, (_, i) => ({ slug: "a", name: `same${i}`, at: T + 5_000 })));
    s.dispatcher.start();
    await s.clock.advance(4_000);
    for (let i = 0; i < 5; i++) await settle();
    expect(s.warmed.map(([name]) => name)).toEqual(["same0", "same1"]);
    room = 10;
    s.dispatcher.lower("a", "same4", T + 5_000); // any new entry looks again
    for (let i = 0; i < 20 && s.warmed.length < 5; i++) await settle();
    expect(s.warmed.map(([name]) => name).sort()).toEqual(["same0", "same1", "same2", "same3", "same4"]);
    expect(s.woken).toEqual([]);
  });

  it("starts nothing ahead while the dispatcher is behind (an entry overdue and not leased)", async () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-wake-ahead-"));
    const clock = new VirtualClock({ start: T });
    const index = new DueIndex(join(dir, "host.sqlite"), "relaxed");
    const warmed: string[] = [];
    const ahead = new WakeAhead({ index, clock, warm: async (_slug, name) => void warmed.push(name) }, { ms: 1_000, limit: 10, parallel: 4 });
    try {
      // No dispatcher leases "overdue": it stands for one that is behind by half a second.
      index.lowerMany([
        { slug: "a", name: "overdue", at: T - 500 },
        { slug: "a", name: "soon", at: T + 500 },
      ]);
      ahead.start();
      await settle();
      expect(warmed).toEqual([]);
      index.set("a", "overdue", null); // caught up
      await clock.advance(100);
      await settle();
      expect(warmed).toEqual(["soon"]);
    } finally {
      ahead.stop();
      index.close();
    }
  });

  it("a virtual clock that jumps past an entry's start and its due time at once starts it, then runs it at its due time", async () => {
    const s = setup({ next: () => T + 50_000 });
    s.index.lowerMany([{ slug: "a", name: "x", at: T + 5_000 }]);
    s.dispatcher.start();
    await s.clock.advanceTo(T + 10_000);
    await s.dispatcher.idle();
    await settle();
    expect(s.warmed).toEqual([["x", 4_000]]);
    expect(s.woken).toEqual([["x", 5_000]]);
    // Leased and run once; its next time is written, and it is started ahead of that one too.
    expect(s.index.get("a", "x")).toBe(T + 50_000);
    expect(s.dispatcher.inFlight).toBe(0);
    expect(s.dispatcher.startedAhead).toBe(0);
  });

  it("an early entry raised as its agent leaves memory is started ahead of, and run at, the raised time only", async () => {
    const s = setup();
    // Announced early while the agent was in memory (a fiber's retry on a live agent is announced one
    // keep-alive interval on); the agent leaves memory with the time it recorded, later.
    s.index.lowerMany([{ slug: "a", name: "x", at: T + 2_000 }]);
    s.dispatcher.start();
    s.dispatcher.reconcile("a", "x", T + 6_000);
    await s.clock.advanceTo(T + 10_000);
    await s.dispatcher.idle();
    await settle();
    expect(s.warmed).toEqual([["x", 5_000]]);
    expect(s.woken).toEqual([["x", 6_000]]);
  });

  it("without a warm function nothing is started ahead", async () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-wake-ahead-"));
    const clock = new VirtualClock({ start: T });
    const index = new DueIndex(join(dir, "host.sqlite"), "relaxed");
    const woken: number[] = [];
    const dispatcher = new TaskDispatcher({
      index,
      clock,
      concurrency: 8,
        report: () => {},
      wake: async () => {
        woken.push(clock.now() - T);
        return null;
      },
    });
    open.push({ dispatcher, index });
    index.lowerMany([{ slug: "a", name: "x", at: T + 2_000 }]);
    dispatcher.start();
    await clock.advance(2_000);
    await dispatcher.idle();
    expect(woken).toEqual([2_000]);
    expect(dispatcher.startedAhead).toBe(0);
  });
});

describe("run journal", () => {
  it("a run that ends after the journal closed is not written (no write to a closed file)", async () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-journal-"));
    const path = join(dir, "tasks.journal");
    const journal = new RunJournal(path);
    const token = journal.started("a", "n", { kind: "schedule", id: "s1" });
    journal.close();
    const error = vi.fn();
    process.once("uncaughtException", error);
    journal.finished(token);
    await settle();
    process.removeListener("uncaughtException", error);
    expect(error).not.toHaveBeenCalled();
    expect(RunJournal.recover(path)).toEqual([]); // written as interrupted at close: no crash
  });
});
