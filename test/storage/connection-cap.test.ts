import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LIMITS } from "../../src/limits.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { nextUseExpected, openConnectionCap, openConnectionCount, parkIdleConnections, setConnectionParking, setOpenConnectionCap, shareCrowdedThreshold } from "../../src/storage/parking.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { Agent } from "../../src/index.ts";
import { HANDLE } from "../../src/agent/agent-base.ts";
import { CLOSING_MS_PER_TURN } from "../../src/time/turn-budget.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const defaultCap = openConnectionCap();
const dirs: string[] = [];
const open: AgentDatabase[] = [];
let t: TestEnv | undefined;

afterEach(async () => {
  setOpenConnectionCap(defaultCap);
  setConnectionParking(LIMITS.parkIdleConnectionAfterMs);
  shareCrowdedThreshold(1);
  await t?.close();
  t = undefined;
  for (const db of open.splice(0)) db.close();
  await whenFilesSettled();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function make(count: number, eachOpened: (db: AgentDatabase) => void = () => {}): AgentDatabase[] {
  const dir = mkdtempSync(join(tmpdir(), "hearth-cap-"));
  dirs.push(dir);
  return Array.from({ length: count }, (_, i) => {
    const db = new AgentDatabase({ path: join(dir, `a${i}.sqlite`), durability: "relaxed", identity: `counter/a${i}`, currentOwner: () => undefined });
    open.push(db);
    eachOpened(db);
    return db;
  });
}

/**
 * New connections each used once, as a new agent's open and first event use it: made and used in one
 * step. Made all first and used afterwards, a crowded sweep that came while they were being made (a
 * slow machine) saw each used at its open and again at its first statement, and rightly took it for
 * one used again: those are left to the ordinary sweep.
 */
function makeUsedOnce(count: number): AgentDatabase[] {
  return make(count, (db) => {
    db.execScript("CREATE TABLE t (x)");
    db.flush();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the cap on open connections", () => {
  it("starts at a fifth of the process's descriptor limit", () => {
    expect(defaultCap).toBeGreaterThanOrEqual(64);
    setOpenConnectionCap(10);
    expect(openConnectionCap()).toBe(10);
    expect(() => setOpenConnectionCap(0)).toThrow(/maxOpenConnections must be an integer ≥ 1, got 0/);
    expect(() => setOpenConnectionCap(1.5)).toThrow(/maxOpenConnections must be an integer ≥ 1/);
  });

  it("reaches a cap that fell a few connections per turn of the event loop, not all at once", async () => {
    setOpenConnectionCap(1_000);
    const dbs = make(201);
    for (const db of dbs) {
      db.execScript("CREATE TABLE IF NOT EXISTS t (x)");
      db.flush(); // committed: each may be parked
    }
    expect(openConnectionCount()).toBe(201);
    setOpenConnectionCap(50); // what a look at the descriptors does when sockets took the room
    expect(openConnectionCount()).toBe(201); // nothing happens until a connection opens
    dbs[0]!.park();
    dbs[0]!.statement("SELECT 1").get(); // this open parks a few, not 150
    dbs[0]!.flush();
    expect(openConnectionCount()).toBeGreaterThanOrEqual(195);
    // The rest follow, 32 per turn: a few turns (each after a 0 ms timer), not a whole second.
    for (let waited = 0; openConnectionCount() > 50 && waited < 2_000; waited += 5) await sleep(5);
    expect(openConnectionCount()).toBeLessThanOrEqual(50);
  });

  it("parks idle connections when more are opened than the cap, and loses nothing", async () => {
    setOpenConnectionCap(5);
    const dbs = make(20);
    for (const [i, db] of dbs.entries()) {
      db.execScript("CREATE TABLE IF NOT EXISTS t (x)");
      db.statement("INSERT INTO t VALUES (?)").run(i);
      db.flush(); // committed: the next open may park it
    }
    expect(openConnectionCount()).toBeLessThanOrEqual(5);
    expect(dbs.filter((db) => db.parked).length).toBeGreaterThanOrEqual(15);
    for (const [i, db] of dbs.entries()) expect(db.statement("SELECT x FROM t").all()).toEqual([{ x: i }]);
    await sleep(5);
    expect(openConnectionCount()).toBeLessThanOrEqual(5);
  });

  it("goes over the cap only for connections in the middle of a transaction, and comes back under it once they commit", async () => {
    setOpenConnectionCap(3);
    const dbs = make(10);
    for (const db of dbs) db.execScript("CREATE TABLE IF NOT EXISTS t (x)"); // ten transactions open in one turn
    expect(openConnectionCount()).toBe(10);
    for (let wait = 0; wait < 100 && openConnectionCount() > 3; wait++) await sleep(10);
    expect(openConnectionCount()).toBeLessThanOrEqual(3);
    for (const db of dbs) expect(db.hasTable("t")).toBe(true);
  });

  it("never parks a connection while its transaction is open, even over the cap", () => {
    setOpenConnectionCap(1);
    const [first, second] = make(2);
    first!.execScript("CREATE TABLE t (x)");
    first!.statement("INSERT INTO t VALUES (1)").run(); // open transaction
    expect(nextUseExpected(first!, performance.now())).toBe(Number.NEGATIVE_INFINITY);
    second!.execScript("CREATE TABLE t (x)"); // opening it finds no connection it may park
    expect(first!.parked).toBe(false);
    first!.flush();
    expect(first!.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(1);
  });
});

describe("the rhythm of an agent's traffic", () => {
  it("keeps a connection used again after an idle gap open for 1.5 times that gap, then parks it", async () => {
    setConnectionParking(20);
    const [steady, once] = make(2);
    steady!.execScript("CREATE TABLE t (x)");
    once!.execScript("CREATE TABLE t (x)");
    steady!.flush();
    once!.flush();
    parkIdleConnections(); // both seen used
    const firstSeen = performance.now();
    await sleep(120);
    steady!.statement("INSERT INTO t VALUES (1)").run(); // used again after an idle gap
    steady!.flush();
    const secondSeen = performance.now();
    parkIdleConnections(); // seen used: kept open for 1.5 times the gap
    parkIdleConnections();
    parkIdleConnections();
    expect(steady!.parked).toBe(false);
    expect(once!.parked).toBe(true); // no rhythm: parked after a sweep without use
    expect(nextUseExpected(steady!, performance.now())).toBeGreaterThan(performance.now() + 50);
    while (!steady!.parked) {
      await sleep(20);
      parkIdleConnections();
    }
    expect(performance.now() - secondSeen).toBeGreaterThanOrEqual(1.5 * (secondSeen - firstSeen) - 5);
  });

  it("keeps a connection used at sweeps in a row open for as many sweeps again, then parks it", () => {
    const [busy, once] = make(2);
    busy!.execScript("CREATE TABLE t (x)");
    busy!.flush();
    once!.execScript("CREATE TABLE t (x)");
    once!.flush();
    parkIdleConnections(); // both used once: no streak yet
    for (let sweep = 0; sweep < 3; sweep++) {
      busy!.statement("SELECT 1").get();
      busy!.flush();
      parkIdleConnections(); // used at every sweep: a streak of 2, then 3, then 4
    }
    expect(once!.parked).toBe(true); // used at one sweep only: parked after a sweep without use
    // Idle now, but busy for four sweeps in a row: kept open for four sweep periods from its last use.
    parkIdleConnections();
    expect(busy!.parked).toBe(false);
    expect(nextUseExpected(busy!, performance.now())).toBeGreaterThan(Number.NEGATIVE_INFINITY);
  });

  it("parks a busy connection once it has been idle for as long as it was busy", async () => {
    setConnectionParking(20);
    const [busy] = make(1);
    busy!.execScript("CREATE TABLE t (x)");
    busy!.flush();
    parkIdleConnections();
    busy!.statement("SELECT 1").get();
    busy!.flush();
    parkIdleConnections(); // a streak of 2: kept open for two sweep periods (40 ms)
    const lastSeen = performance.now();
    while (!busy!.parked) {
      await sleep(10);
      parkIdleConnections();
    }
    expect(performance.now() - lastSeen).toBeGreaterThanOrEqual(40 - 5);
  });
});

class Idle extends Agent {
  static callables = { ping: {} };
  ping(): string {
    this.sql`SELECT 1`;
    return "pong";
  }
}

describe("crowded connections", () => {
  it("sweeps idle connections every crowded period while more than crowdedOpenConnections are open, and every parkIdleConnectionAfterMs otherwise", async () => {
    setConnectionParking(60_000); // the ordinary sweep does not come during this test
    const few = makeUsedOnce(10);
    await sleep(LIMITS.parkCrowdedConnectionAfterMs * 4);
    expect(few.every((db) => !db.parked)).toBe(true); // a few open: left for the ordinary sweep
    makeUsedOnce(LIMITS.crowdedOpenConnections);
    // Crowded: sweeps park the ones idle since the last look (the few first) until no more than
    // crowdedOpenConnections are open, long before the ordinary sweep's minute. (On a slow machine the
    // opens above may have moved such a sweep on already: no count of them is asserted here.)
    const crowded = () => openConnectionCount() > LIMITS.crowdedOpenConnections || few.some((db) => !db.parked);
    for (const deadline = performance.now() + 20_000; crowded() && performance.now() < deadline; ) await sleep(20);
    expect(few.filter((db) => !db.parked)).toHaveLength(0);
    expect(openConnectionCount()).toBeLessThanOrEqual(LIMITS.crowdedOpenConnections);
    expect(few[7]!.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(0); // reopened on use
  });

  it("counts the process's connections: with two threads, a thread is crowded at half of crowdedOpenConnections", async () => {
    setConnectionParking(60_000);
    shareCrowdedThreshold(2);
    const half = LIMITS.crowdedOpenConnections / 2;
    makeUsedOnce(half + 20);
    for (const deadline = performance.now() + 20_000; openConnectionCount() > half && performance.now() < deadline; ) await sleep(20);
    expect(openConnectionCount()).toBeLessThanOrEqual(half); // one thread alone: none parked before the ordinary sweep's minute
  });

  it("leaves a connection used again to the ordinary sweep, however crowded", async () => {
    setConnectionParking(60_000);
    const dbs = makeUsedOnce(LIMITS.crowdedOpenConnections + 40);
    const until = async (done: () => boolean) => {
      for (const deadline = performance.now() + 20_000; !done() && performance.now() < deadline; ) await sleep(20);
    };
    // Fresh and idle: parked by crowded sweeps, down to where the process is no longer crowded.
    await until(() => openConnectionCount() <= LIMITS.crowdedOpenConnections);
    const parked = dbs.filter((db) => db.parked);
    expect(parked.length).toBeGreaterThanOrEqual(40);
    // Crowded sweeps stop once the process is no longer crowded, and may not have looked at the newest
    // connections yet: to parking those are still used once, and their next use would be their first
    // it sees. A whole sweep looks at every one (and parks the idle ones it has seen before).
    parkIdleConnections();
    for (const db of dbs) {
      db.statement("INSERT INTO t VALUES (1)").run(); // used again: the parked ones reopened, crowded again
      db.flush();
    }
    expect(parked.some((db) => db.parked)).toBe(false);
    expect(openConnectionCount()).toBe(dbs.length);
    // A sweep sees each one used again after a gap: it has a rhythm now, and only the ordinary sweep
    // (a minute away) may park it, long after its rhythm (1.5 times a gap of well under a second) ran out.
    await sleep(2_000);
    expect(openConnectionCount()).toBe(dbs.length);
    expect(dbs.some((db) => db.parked)).toBe(false);
  });
});

describe("the sweeps and the application's fake timers", () => {
  it("go on once the fake timers are gone: a sweep begun under them is not left waiting for a fake turn", async () => {
    setConnectionParking(60_000); // only the crowded sweep
    vi.useFakeTimers(); // an application's test with fake timers, opening agents' files
    let dbs: AgentDatabase[];
    try {
      dbs = makeUsedOnce(LIMITS.crowdedOpenConnections + 40);
      // Crowded opens move the sweep on, and leave the rest of it to the next turn of the event loop.
    } finally {
      vi.useRealTimers();
    }
    await vi.waitFor(() => expect(openConnectionCount()).toBeLessThanOrEqual(LIMITS.crowdedOpenConnections), { timeout: 10_000, interval: 20 });
    expect(dbs.filter((db) => db.parked).length).toBeGreaterThanOrEqual(40);
  });
});

describe("crowded sweeps moved on by the opens", () => {
  it("parks connections idle since the last look while one turn opens more than the sweep's timer could close", () => {
    setConnectionParking(60_000); // only the crowded sweep
    setOpenConnectionCap(100_000); // and not the cap
    const busyFor = (ms: number) => {
      for (const end = performance.now() + ms; performance.now() < end; );
    };
    const dir = mkdtempSync(join(tmpdir(), "hearth-cap-"));
    dirs.push(dir);
    let made = 0;
    /** Agents' databases opened and used once each, one after the other (a new agent's start and request). */
    const openAndUse = (count: number) =>
      Array.from({ length: count }, () => {
        const db = new AgentDatabase({ path: join(dir, `a${made}.sqlite`), durability: "relaxed", identity: `counter/a${made++}`, currentOwner: () => undefined });
        open.push(db);
        db.execScript("CREATE TABLE t (x)");
        db.flush();
        return db;
      });
    // All in one turn, as in a burst of new agents whose turns are long: the sweep's timer cannot fire.
    const first = openAndUse(LIMITS.crowdedOpenConnections + 64);
    busyFor(LIMITS.parkCrowdedConnectionAfterMs * 1.5);
    const second = openAndUse(64); // a crowded period later: their opens start a sweep, which sees the first ones used
    busyFor(LIMITS.parkCrowdedConnectionAfterMs * 1.5);
    const third = openAndUse(LIMITS.crowdedOpenConnections + 64); // and another: the first ones, idle since, are parked by these opens
    expect(first.filter((db) => !db.parked)).toHaveLength(0);
    expect(third.at(-1)!.parked).toBe(false);
    expect(openConnectionCount()).toBeLessThanOrEqual(second.length + third.length);
    expect(first[5]!.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(0); // reopened on use
  });
});

describe("hibernating many idle agents", () => {
  it("hibernates all of them, a few per turn of the event loop", async () => {
    t = await createTestEnv({ agents: { Idle }, host: { hibernateAfterMs: 40 } });
    await Promise.all(Array.from({ length: 100 }, (_, i) => t!.get<Idle>("Idle", `i${i}`).ping()));
    expect(t.host.stats.liveAgents).toBe(100);
    for (let wait = 0; wait < 200 && t.host.stats.liveAgents > 0; wait++) await sleep(10);
    expect(t.host.stats.liveAgents).toBe(0);
    expect(await t.get<Idle>("Idle", "i7").ping()).toBe("pong");
  });
});

/** An agent whose leaving memory takes a millisecond of the event loop (a slow close on a busy disk). */
class SlowToLeave extends Agent {
  static callables = { ping: {} };
  ping(): string {
    this.sql`SELECT 1`;
    return "pong";
  }
  override [HANDLE.unload](): void {
    for (const end = performance.now() + 1; performance.now() < end; );
    super[HANDLE.unload]();
  }
}

describe("hibernating agents whose closes are slow", () => {
  it("stops for the turn once closing took CLOSING_MS_PER_TURN, and goes on in the next turns", async () => {
    t = await createTestEnv({ agents: { SlowToLeave }, host: { hibernateAfterMs: 40 } });
    await Promise.all(Array.from({ length: 24 }, (_, i) => t!.get<SlowToLeave>("SlowToLeave", `s${i}`).ping()));
    const perTurn: number[] = [];
    let live = t.host.stats.liveAgents;
    // Turn by turn until all have left (the sweep starts once they have been idle for 40 ms).
    for (const deadline = performance.now() + 20_000; live > 0 && performance.now() < deadline; ) {
      await new Promise((resolve) => setImmediate(resolve));
      const now = t.host.stats.liveAgents;
      if (now < live) perTurn.push(live - now);
      live = now;
    }
    expect(live).toBe(0);
    // Each close takes ≥ 1 ms: a turn stops after the one that passes the budget.
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(Math.ceil(CLOSING_MS_PER_TURN) + 1);
    expect(perTurn.length).toBeGreaterThan(1);
  });
});

describe("running out of file descriptors", () => {
  it("lowers the cap to what the process can hold, parks down to it, warns once, and opens the file after all", () => {
    const fixture = join(import.meta.dirname, "fixtures", "descriptor-exhaustion.ts");
    // 120 descriptors: about 50 connections fit, 200 agents are opened and written, then read again.
    const output = execFileSync("sh", ["-c", `ulimit -n 120 && exec "$0" "$1" 200`, process.execPath, fixture], { encoding: "utf8" });
    const result = JSON.parse(output.trim().split("\n").at(-1)!) as { opened: number; failed: number; intact: boolean; cap: number; warnings: string[] };
    expect(result, output).toMatchObject({ opened: 200, failed: 0, intact: true });
    expect(result.cap).toBeLessThan(60);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^\[hearth\] the process ran out of file descriptors with \d+ SQLite connections open: the cap on open connections \(maxOpenConnections\) is now \d+\. Raise the limit \(ulimit -n\) or lower maxOpenConnections\.$/);
  });
});

describe("a connection parked while an event whose writes were lost awaits", () => {
  it("still tells that event its writes were rolled back, and drops what it sends", async () => {
    let owner: object | undefined;
    const dir = mkdtempSync(join(tmpdir(), "hearth-lost-"));
    dirs.push(dir);
    const db = new AgentDatabase({ path: join(dir, "lost.sqlite"), durability: "relaxed", identity: "counter/lost", currentOwner: () => owner });
    open.push(db);
    db.execScript("CREATE TABLE t (v TEXT); CREATE TABLE once (v TEXT UNIQUE ON CONFLICT ROLLBACK); INSERT INTO once VALUES ('taken')");
    db.flush();
    const event = {};
    owner = event;
    db.statement("INSERT INTO t VALUES ('before')").run();
    expect(() => db.statement("INSERT INTO once VALUES ('taken')").run()).toThrow(/UNIQUE/); // the handler catches it
    owner = undefined;
    expect(() => db.flush()).toThrow(/rolled back/); // the event awaits outside I/O: its turn's commit finds the loss
    parkIdleConnections();
    parkIdleConnections();
    expect(db.parked).toBe(true);
    const sent: string[] = [];
    owner = event;
    db.output(() => sent.push("after the loss"));
    owner = undefined;
    await expect(db.endEvent(event, false)).rejects.toThrow(/rolled back/);
    expect(sent).toEqual([]);
    expect(db.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(0);
  });
});
