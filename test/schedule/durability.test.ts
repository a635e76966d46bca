import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const START = Date.UTC(2030, 2, 4, 10, 30); // Monday 10:30 UTC

class Keeper extends Agent {
  async onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS ran (what TEXT, at INTEGER)`;
    await this.scheduleEvery(600, "record", "every-10-min");
  }
  hourly() {
    return this.schedule("0 * * * *", "record", "hourly");
  }
  in(seconds: number, what: string) {
    return this.schedule(seconds, "record", what);
  }
  cancel(id: string) {
    return this.cancelSchedule(id);
  }
  record(what: string) {
    this.sql`INSERT INTO ran VALUES (${what}, ${Date.now()})`;
  }
  ran(what?: string) {
    return this.sql<{ what: string; at: number }>`SELECT * FROM ran ORDER BY rowid`
      .filter((row) => what === undefined || row.what === what)
      .map((row) => new Date(row.at).toISOString().slice(11, 16));
  }
  intervals() {
    return this.listSchedules({ type: "interval" });
  }
  async hold() {
    const release = await this.keepAlive();
    this.release = release;
  }
  release: (() => void) | undefined;
  letGo() {
    this.release?.();
  }
  async gone() {
    await this.destroy();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function env() {
  t ??= await createTestEnv({ agents: { Keeper }, start: START });
  return t;
}

describe("durability of schedules", () => {
  it("keeps schedules across restarts; scheduleEvery in onStart stays one schedule", async () => {
    const t = await env();
    const k = t.get<Keeper>("Keeper", "k");
    await k.in(3600, "in-an-hour");
    for (let i = 0; i < 3; i++) {
      await t.restart();
      await t.get<Keeper>("Keeper", "k").ran(); // wakes it: onStart runs again
    }
    const k2 = t.get<Keeper>("Keeper", "k");
    expect(await k2.intervals()).toHaveLength(1);
    await t.clock.advance("1 hour");
    expect(await k2.ran("in-an-hour")).toEqual(["11:30"]);
    expect(await k2.ran("every-10-min")).toEqual(["10:40", "10:50", "11:00", "11:10", "11:20", "11:30"]);
  });

  it("wakes hibernated agents when their time comes, and only those", async () => {
    const t = await env();
    await t.get<Keeper>("Keeper", "due-soon").in(60, "soon");
    await t.get<Keeper>("Keeper", "idle").cancel((await t.get<Keeper>("Keeper", "idle").intervals())[0]!.id);
    expect(t.hibernate()).toBe(2);
    expect(t.host.stats.liveAgents).toBe(0);
    expect(t.host.nextWake("Keeper", "due-soon")).toEqual(new Date(START + 60_000));
    expect(t.host.nextWake("Keeper", "idle")).toBeNull(); // nothing pending: never woken
    await t.clock.advance("1 minute");
    expect(t.host.stats.liveAgents).toBe(1);
    expect(await t.get<Keeper>("Keeper", "due-soon").ran("soon")).toEqual(["10:31"]);
  });

  it("coalesces cron runs missed while the process was down into one run", async () => {
    const t = await env();
    const k = t.get<Keeper>("Keeper", "k");
    await k.hourly();
    await t.restart({ downFor: "5 hours" }); // 11:00 … 15:00 missed
    await t.clock.settle();
    const k2 = t.get<Keeper>("Keeper", "k");
    expect(await k2.ran("hourly")).toEqual(["15:30"]);
    await t.clock.advance("30 minutes");
    expect(await k2.ran("hourly")).toEqual(["15:30", "16:00"]);
    // The interval also ran once for its missed runs, then resumed its rhythm from there.
    expect(await k2.ran("every-10-min")).toEqual(["15:30", "15:40", "15:50", "16:00"]);
  });

  it("does not hibernate an agent holding keepAlive", async () => {
    const t = await env();
    const k = t.get<Keeper>("Keeper", "k");
    await k.hold();
    expect(t.hibernate()).toBe(0);
    await k.letGo();
    expect(t.hibernate()).toBe(1);
  });

  it("destroy() removes the agent's schedules and its index entry", async () => {
    const t = await env();
    const k = t.get<Keeper>("Keeper", "doomed");
    await k.in(60, "never");
    expect(t.host.nextWake("Keeper", "doomed")).not.toBeNull();
    await k.gone();
    expect(t.host.nextWake("Keeper", "doomed")).toBeNull();
    await t.clock.advance("1 hour");
    expect(t.host.stats.liveAgents).toBe(0);
  });
});

describe("the host's due index", () => {
  it("is rebuilt from the agents' own databases when its file is missing", async () => {
    const t = await env();
    await t.get<Keeper>("Keeper", "a").in(120, "a-ran");
    await t.get<Keeper>("Keeper", "b").in(60, "b-ran");
    await t.host.close();
    const { rmSync } = await import("node:fs");
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${t.dataDir}/host.sqlite${suffix}`, { force: true });
    await t.restart();
    expect(t.host.nextWake("Keeper", "b")).toEqual(new Date(START + 60_000));
    expect(t.host.nextWake("Keeper", "a")).toEqual(new Date(START + 120_000));
    expect(t.host.stats.liveAgents).toBe(0);
    await t.clock.advance("2 minutes");
    expect(await t.get<Keeper>("Keeper", "a").ran("a-ran")).toEqual(["10:32"]);
    expect(await t.get<Keeper>("Keeper", "b").ran("b-ran")).toEqual(["10:31"]);
  });
});
