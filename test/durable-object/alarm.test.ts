/**
 * The Durable Object alarm on virtual time: set, get, delete (numbers and Dates), overwrite, set and
 * delete inside alarm(), retries with Cloudflare's backoff and limit, and classes without a handler.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, VirtualClock, type DurableObjectNamespace } from "../../src/index.ts";
import type { AlarmInvocationInfo } from "../../src/durable-object/index.ts";
import { tempDir } from "../support/harness.ts";

const START = Date.parse("2026-01-01T00:00:00Z");
const runs: Array<{ name: string; at: number; retryCount: number; isRetry: boolean; alarmDuringRun: number | null }> = [];
let clock: VirtualClock;

type Plan = { fail?: boolean; rescheduleIn?: number; times?: number; deleteInside?: boolean; hold?: boolean };
/** Where a held alarm() waits (outside I/O: other events get in) until the test releases it. */
let held: { reached: Promise<void>; arrive(): void; released: Promise<void>; release(): void } | undefined;

function holdAlarm(): NonNullable<typeof held> {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  held = { reached, arrive, released, release };
  return held;
}

class Alarmed extends DurableObject {
  async set(at: number | string): Promise<number | null> {
    await this.ctx.storage.setAlarm(typeof at === "string" ? new Date(at) : at);
    return this.ctx.storage.getAlarm();
  }

  /** The same inside a transaction() closure. */
  async setInTransaction(at: number): Promise<number | null> {
    return this.ctx.storage.transaction(async (txn) => {
      await txn.setAlarm(new Date(at));
      return txn.getAlarm();
    });
  }

  async get(): Promise<number | null> {
    return this.ctx.storage.getAlarm();
  }

  async remove(): Promise<number | null> {
    await this.ctx.storage.deleteAlarm();
    return this.ctx.storage.getAlarm();
  }

  async plan(plan: Plan): Promise<void> {
    await this.ctx.storage.put("plan", plan);
  }

  async setError(value: unknown): Promise<string> {
    try {
      await this.ctx.storage.setAlarm(value as number);
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  async alarm(info?: AlarmInvocationInfo): Promise<void> {
    const plan = (await this.ctx.storage.get<Plan>("plan")) ?? {};
    runs.push({
      name: this.ctx.id.name ?? "?",
      at: clock.now(),
      retryCount: info?.retryCount ?? -1,
      isRetry: info?.isRetry ?? false,
      alarmDuringRun: await this.ctx.storage.getAlarm(),
    });
    if (plan.hold && held) {
      held.arrive();
      await held.released;
    }
    if (plan.fail) throw new Error("the alarm failed");
    const done = runs.filter((run) => run.name === this.ctx.id.name).length;
    if (plan.rescheduleIn !== undefined && done < (plan.times ?? 1)) {
      await this.ctx.storage.setAlarm(clock.now() + plan.rescheduleIn);
      if (plan.deleteInside) await this.ctx.storage.deleteAlarm();
    }
  }
}

/** The same binding without an alarm() handler (a later version of the class, say). */
class Handlerless extends DurableObject {
  async set(at: number): Promise<string> {
    try {
      await this.ctx.storage.setAlarm(at);
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  async get(): Promise<number | null> {
    return this.ctx.storage.getAlarm();
  }
}

type Namespace = DurableObjectNamespace<Alarmed>;
const dirs: Array<{ remove(): void }> = [];
const hosts: Host[] = [];

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
  for (const dir of dirs.splice(0)) dir.remove();
  runs.length = 0;
  held = undefined;
});

function start(dataDir?: string, cls: abstract new (...args: never[]) => unknown = Alarmed): { host: Host; alarms: Namespace; dataDir: string } {
  if (dataDir === undefined) {
    const dir = tempDir();
    dirs.push(dir);
    dataDir = dir.path;
    clock = new VirtualClock({ start: START });
  }
  const host = new Host({ dataDir, agents: {}, durableObjects: { ALARMS: cls }, clock });
  clock.waitForIdle = () => host.tasksIdle();
  hosts.push(host);
  return { host, alarms: host.env.ALARMS as Namespace, dataDir };
}

describe("setAlarm, getAlarm, deleteAlarm", () => {
  it("take epoch milliseconds or Dates; the alarm runs once at its time, then is gone", async () => {
    const { alarms } = start();
    const a = alarms.getByName("a");
    expect(await a.get()).toBeNull();
    expect(await a.set(START + 60_000)).toBe(START + 60_000);
    expect(await a.set(new Date(START + 30_000).toISOString())).toBe(START + 30_000); // overwrites
    await clock.advance("29 s");
    expect(runs).toEqual([]);
    await clock.advance("2 s");
    expect(runs).toEqual([{ name: "a", at: START + 30_000, retryCount: 0, isRetry: false, alarmDuringRun: null }]);
    expect(await a.get()).toBeNull();
    await clock.advance("1 h");
    expect(runs).toHaveLength(1); // the overwritten time never fires
  });

  it("deleteAlarm cancels it", async () => {
    const { alarms } = start();
    const a = alarms.getByName("deleted");
    await a.set(START + 1000);
    expect(await a.remove()).toBeNull();
    await clock.advance("1 min");
    expect(runs).toEqual([]);
  });

  it("an alarm in the past is stored as now (the object's clock), as workerd does, and runs at once", async () => {
    const { host, alarms } = start();
    await clock.advance(250);
    expect(await alarms.getByName("late").set(START - 5000)).toBe(START + 250);
    expect(await alarms.getByName("late").get()).toBe(START + 250);
    expect(await alarms.getByName("late-in-transaction").setInTransaction(5)).toBe(START + 250);
    await host.tasksIdle();
    await clock.advance(1);
    expect(runs.map((run) => run.name).sort()).toEqual(["late", "late-in-transaction"]);
  });

  it("refuses times that are not numbers or Dates, and times <= 0", async () => {
    const { alarms } = start();
    const a = alarms.getByName("bad");
    expect(await a.setError("soon")).toBe("TypeError: Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.");
    expect(await a.setError(0)).toBe("TypeError: setAlarm() cannot be called with an alarm time <= 0");
    expect(await a.get()).toBeNull();
  });

  it("refuses times past workerd's range (64-bit nanoseconds since the epoch) with its error, and takes the last one in it", async () => {
    const { alarms } = start();
    const a = alarms.getByName("far");
    const tooLate = "TypeError: This API doesn't support dates after 2189.";
    for (const time of [2 ** 63 / 1e6, 8.64e15, 8.64e15 + 1, 1e300]) expect(await a.setError(time)).toBe(tooLate);
    expect(await a.setError(new Date(8.64e15))).toBe(tooLate);
    expect(await a.get()).toBeNull();
    expect(await a.setError(9_223_372_036_854)).toBe("no error");
    expect(await a.get()).toBe(9_223_372_036_854);
  });

  it("survives a restart of the host: the new host runs it at its time", async () => {
    const first = start();
    await first.alarms.getByName("durable").set(START + 10_000);
    await first.host.close();
    const second = start(first.dataDir);
    expect(await second.alarms.getByName("durable").get()).toBe(START + 10_000);
    await clock.advance("10 s");
    expect(runs.map((run) => run.name)).toEqual(["durable"]);
  });
});

describe("inside alarm()", () => {
  it("setAlarm schedules the next run; getAlarm is null until then", async () => {
    const { alarms } = start();
    const a = alarms.getByName("ticker");
    await a.plan({ rescheduleIn: 1000, times: 3 });
    await a.set(START + 1000);
    await clock.advance("10 s");
    expect(runs.map((run) => [run.at - START, run.alarmDuringRun])).toEqual([
      [1000, null],
      [2000, null],
      [3000, null],
    ]);
    expect(await a.get()).toBeNull();
  });

  it("deleteAlarm after setAlarm leaves no alarm", async () => {
    const { alarms } = start();
    const a = alarms.getByName("stopper");
    await a.plan({ rescheduleIn: 1000, times: 5, deleteInside: true });
    await a.set(START + 1000);
    await clock.advance("1 min");
    expect(runs).toHaveLength(1);
    expect(await a.get()).toBeNull();
  });
});

describe("retries", () => {
  it("retry a failing alarm 6 times with exponential backoff from 2 s, then give up", async () => {
    const { alarms } = start();
    const a = alarms.getByName("failing");
    await a.plan({ fail: true });
    await a.set(START + 1000);
    await clock.advance("10 min");
    expect(runs.map((run) => [run.retryCount, run.isRetry])).toEqual([
      [0, false],
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
      [6, true],
    ]);
    // The delay before retry k is between half and all of 2 s × 2^(k-1) (jittered), at most 64 s.
    for (let k = 1; k < runs.length; k++) {
      const gap = runs[k]!.at - runs[k - 1]!.at;
      const full = Math.min(64_000, 2000 * 2 ** (k - 1));
      expect(gap, `delay before retry ${k}`).toBeGreaterThanOrEqual(full / 2);
      expect(gap, `delay before retry ${k}`).toBeLessThanOrEqual(full);
    }
    expect(await a.get()).toBeNull();
  });

  it("a retry that succeeds ends the retries", async () => {
    const { alarms } = start();
    const a = alarms.getByName("flaky");
    await a.plan({ fail: true });
    await a.set(START + 1000);
    await clock.advance("1.5 s");
    expect(runs).toHaveLength(1);
    await a.plan({});
    await clock.advance("10 min");
    expect(runs.map((run) => run.retryCount)).toEqual([0, 1]);
  });
});

describe("changed by another event while alarm() runs", () => {
  it("a setAlarm made meanwhile replaces the failing run's retry: one alarm, at the time set", async () => {
    const { alarms } = start();
    const a = alarms.getByName("moved");
    await a.plan({ fail: true, hold: true });
    const gate = holdAlarm();
    await a.set(START + 1000);
    const advanced = clock.advance("1 s");
    await gate.reached;
    expect(await a.set(START + 300_000)).toBe(START + 300_000);
    await a.plan({});
    gate.release();
    await advanced;
    expect(await a.get()).toBe(START + 300_000);
    await clock.advance("10 min");
    expect(runs.map((run) => [run.at - START, run.retryCount])).toEqual([
      [1000, 0],
      [300_000, 0],
    ]);
  });

  it("a deleteAlarm made meanwhile leaves the failing run without a retry", async () => {
    const { alarms } = start();
    const a = alarms.getByName("cancelled");
    await a.plan({ fail: true, hold: true });
    const gate = holdAlarm();
    await a.set(START + 1000);
    const advanced = clock.advance("1 s");
    await gate.reached;
    expect(await a.remove()).toBeNull();
    gate.release();
    await advanced;
    await clock.advance("10 min");
    expect(runs).toHaveLength(1);
    expect(await a.get()).toBeNull();
  });
});

describe("without an alarm() handler", () => {
  it("setAlarm is refused with the Workers runtime's text", async () => {
    const { alarms } = start(undefined, Handlerless);
    expect(await (alarms as unknown as DurableObjectNamespace<Handlerless>).getByName("h").set(START + 1000)).toBe(
      "TypeError: Your Durable Object class must have an alarm() handler in order to call setAlarm()",
    );
  });

  it("an alarm left by a version of the class that had one is dropped when due", async () => {
    const first = start();
    await first.alarms.getByName("orphan").set(START + 1000);
    await first.host.close();
    const second = start(first.dataDir, Handlerless);
    await clock.advance("1 min");
    expect(await (second.alarms as unknown as DurableObjectNamespace<Handlerless>).getByName("orphan").get()).toBeNull();
    expect(runs).toEqual([]);
  });
});
