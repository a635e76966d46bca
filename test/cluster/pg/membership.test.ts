import { describe, expect, test } from "vitest";
import { Membership, type LostReason, type MembershipOptions } from "../../../src/cluster/pg/membership.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "./fixture.ts";
import { FaultProxy } from "./proxy.ts";

/** Short timings so a death is seen within about 1.5 s, with room for a loaded machine's stalls. */
const FAST = { ttlMs: 1_500, heartbeatMs: 150, reapMs: 50, marginMs: 300 };

describe.skipIf(postgresUnavailable() !== undefined)("membership", () => {
  const pg = pgFixture("membership");

  async function join(options: Omit<MembershipOptions, "pool"> & { pool?: MembershipOptions["pool"] }): Promise<Membership> {
    const membership = await Membership.join({ pool: options.pool ?? pg.pool(), ...FAST, ...options });
    return pg.track(membership);
  }

  test("a node joins alive, each join is a new incarnation, and nodes() lists them", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a1 = await join({ pool, schema, nodeId: "a", address: "http://a" });
    const b = await join({ pool, schema, nodeId: "b", address: "http://b" });
    expect(a1.incarnation).toBe(1);
    expect(a1.valid).toBe(true);
    await a1.close();
    const a2 = await join({ pool, schema, nodeId: "a", address: "http://a2" });
    expect(a2.incarnation).toBe(2);
    const nodes = await b.nodes();
    expect(nodes.map(({ secondsSinceHeartbeat: _, ...row }) => row)).toEqual([
      { nodeId: "a", address: "http://a2", incarnation: 2, state: "alive" },
      { nodeId: "b", address: "http://b", incarnation: 1, state: "alive" },
    ]);
    expect(nodes.every((n) => n.secondsSinceHeartbeat >= 0 && n.secondsSinceHeartbeat < 5)).toBe(true);
  });

  test("a paused node is reaped by the other, and finds itself lost when it renews again", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await join({ pool, schema, nodeId: "a", address: "http://a" });
    const b = await join({ pool, schema, nodeId: "b", address: "http://b" });
    const lost: LostReason[] = [];
    a.onLost((reason) => lost.push(reason));
    a.pauseTimers();
    await waitFor("b's reaper to mark a dead", async () => (await b.nodes()).find((n) => n.nodeId === "a")?.state === "dead");
    expect(a.valid).toBe(false); // its own clock already says so
    expect(lost).toEqual([]); // paused: nothing ran on a
    expect(await a.renew()).toBe(false);
    expect(lost).toEqual(["declared-dead"]);
    expect(a.lost).toBe("declared-dead");
    a.resumeTimers();
    expect(await a.renew()).toBe(false);
    expect(lost).toEqual(["declared-dead"]); // once
    expect((await b.nodes()).find((n) => n.nodeId === "b")?.state).toBe("alive");
  });

  test("a node is declared dead by its own TTL, not by the reaper's: a longer one outlives a shorter one's silence", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const reaper = await join({ pool, schema, nodeId: "short", address: "http://short" });
    // A TTL of 6 s: silent for 3 s (twice the reaper's own TTL), it is still valid by its own clock.
    const patient = await join({ pool, schema, nodeId: "patient", address: "http://patient", ttlMs: 6_000, heartbeatMs: 1_000, marginMs: 300 });
    patient.pauseTimers();
    const silentFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(performance.now() - silentFrom).toBeLessThan(6_000 - 300); // the wait did not overrun its validity
    expect(patient.valid).toBe(true);
    expect((await reaper.nodes()).find((n) => n.nodeId === "patient")?.state).toBe("alive");
    // Past its own TTL it is reaped all the same.
    await waitFor("the reaper to mark it dead after its own TTL", async () => (await reaper.nodes()).find((n) => n.nodeId === "patient")?.state === "dead", 15_000);
    expect(patient.valid).toBe(false);
  });

  test("a node whose heartbeat link goes silent loses its lease by its own clock, before any reaper", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const proxy = pg.track(await FaultProxy.start(pg.server.port));
    // Own-clock expiry 1 s after the last renewal, a reaper's verdict no sooner than 2 s after it.
    const timings = { ttlMs: 2_000, heartbeatMs: 200, marginMs: 1_000 };
    const a = await join({ pool, schema, nodeId: "a", address: "http://a", ...timings, heartbeatConnection: { connectionString: proxy.url(pg.url) } });
    const lost: LostReason[] = [];
    a.onLost((reason) => lost.push(reason));
    expect(await a.renew()).toBe(true);
    proxy.mode = "blackhole";
    await waitFor("a's own clock to pass its lease", () => lost.length > 0);
    expect(lost).toEqual(["expired"]);
    expect(a.valid).toBe(false);
    // Postgres's clock has not reached the TTL yet: nobody has declared a dead.
    expect((await a.nodes())[0]?.state).toBe("alive");
  });

  test("a node started again elsewhere under the same id replaces the old incarnation", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const old = await join({ pool, schema, nodeId: "a", address: "http://a" });
    const lost: LostReason[] = [];
    old.onLost((reason) => lost.push(reason));
    await join({ pool, schema, nodeId: "a", address: "http://a-new" });
    await waitFor("the old incarnation to notice", () => lost.length > 0);
    expect(lost).toEqual(["replaced"]);
  });

  test("drain keeps the node alive for leases; leave marks it left and stops", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await join({ pool, schema, nodeId: "a", address: "http://a" });
    const lost: LostReason[] = [];
    a.onLost((reason) => lost.push(reason));
    await a.drain();
    expect(await a.renew()).toBe(true);
    expect((await a.nodes())[0]?.state).toBe("draining");
    await a.leave();
    expect((await a.nodes())[0]?.state).toBe("left");
    expect(a.valid).toBe(false);
    expect(lost).toEqual([]);
    await expect(a.drain()).rejects.toThrow(`node a (incarnation 1) is no longer a live member; it cannot be marked draining`);
  });

  test("renewals whose connection is killed keep retrying without throwing, then succeed again", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await join({ pool, schema, nodeId: "a", address: "http://a", ttlMs: 30_000, heartbeatMs: 50, marginMs: 1_000 });
    await waitFor("the heartbeat connection to be killed", async () => {
      const { rowCount } = await pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hearth-heartbeat-a'",
      );
      return rowCount! > 0;
    });
    await waitFor("a renewal to fail", () => a.stats.renewFailures > 0);
    const renewals = a.stats.renewals;
    await waitFor("renewals to succeed again", () => a.stats.renewals > renewals + 1);
    expect(a.valid).toBe(true);
    expect(a.lost).toBeUndefined();
  });

  test("bad options are refused with the limit named", async () => {
    const pool = pg.pool();
    await expect(Membership.join({ pool, nodeId: "a b", address: "x" })).rejects.toThrow(
      `node id "a b" must be 1–128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
    );
    await expect(Membership.join({ pool, nodeId: "a", address: "x", ttlMs: 1_000, heartbeatMs: 800 })).rejects.toThrow(
      "membership heartbeatMs (800) must be above 0 and below ttlMs − marginMs (500), or the lease lapses between renewals",
    );
    await expect(Membership.join({ pool, nodeId: "a", address: "x", ttlMs: 2 ** 31, heartbeatMs: 1_000 })).rejects.toThrow("membership ttlMs must be at most 2147483647 ms");
    await expect(Membership.join({ pool, nodeId: "a", address: "x", reapMs: -1 })).rejects.toThrow(
      "membership reapMs must be a non-negative number of milliseconds, got -1",
    );
  });
});
