import { describe, expect, test } from "vitest";
import { preferredNode } from "../../../src/cluster/due/rendezvous.ts";
import { DueScanner, type DueScannerOptions } from "../../../src/cluster/due/scanner.ts";
import { writeDue } from "../../../src/cluster/pg/due.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";
import { declareDead, simNode, type SimNode } from "./support.ts";
import type pg from "pg";

const ACTORS = Array.from({ length: 24 }, (_, i) => `ticker/${i}`);

describe.skipIf(postgresUnavailable() !== undefined)("due scanner", () => {
  const pg = pgFixture("due_scanner");

  /** Nodes a and b alive; node c held `actors`, wrote their next wakes (`at`) and died. */
  async function orphaned(actors: readonly string[], at: (actorId: string) => number): Promise<{ pool: pg.Pool; schema: string; a: SimNode; b: SimNode }> {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    const b = await simNode(pg, pool, schema, "b");
    const c = await simNode(pg, pool, schema, "c");
    for (const id of actors) await c.claim(id);
    await writeDue(pool, clusterTables(schema), actors.map((actorId) => ({ actorId, epoch: 1, at: at(actorId) })));
    await declareDead(pool, schema, c);
    return { pool, schema, a, b };
  }

  function scanner(pool: pg.Pool, schema: string, node: SimNode, options: Partial<DueScannerOptions> = {}): DueScanner & { taken: string[] } {
    const taken: string[] = [];
    const scanner = new DueScanner({
      pool,
      schema,
      nodeId: node.id,
      active: () => node.membership.valid,
      take: async (actorId) => {
        if (await node.claim(actorId)) taken.push(actorId);
      },
      graceMs: 60_000,
      ...options,
    });
    pg.track({ close: () => scanner.stop() });
    return Object.assign(scanner, { taken });
  }

  test("each due agent of a dead node is taken by its preferred live node, and only by it", async () => {
    const { pool, schema, a, b } = await orphaned(ACTORS, () => Date.now() - 1_000);
    const scanA = scanner(pool, schema, a, { parallel: 100 });
    const scanB = scanner(pool, schema, b, { parallel: 100 });
    const [outA, outB] = await Promise.all([scanA.scanOnce(), scanB.scanOnce()]);
    expect(outA.orphans).toBe(ACTORS.length);
    expect(outA.taken.length + outB.taken.length).toBe(ACTORS.length);
    expect(outA.deferred).toBe(outB.taken.length);
    await waitFor("the takes", () => scanA.taking === 0 && scanB.taking === 0);
    for (const id of ACTORS) expect((preferredNode(id, ["a", "b"]) === "a" ? a : b).held.has(id)).toBe(true);
    expect(scanA.taken.length).toBeGreaterThan(0);
    expect(scanB.taken.length).toBeGreaterThan(0);
    expect(scanA.stats.graceTakes + scanB.stats.graceTakes).toBe(0);
    // Held by live nodes now: nothing left to take.
    expect((await scanA.scanOnce()).orphans).toBe(0);
  });

  test("agents whose preferred node does not take them are taken by another after the grace period", async () => {
    const { pool, schema, a } = await orphaned(ACTORS, () => Date.now() - 1_000);
    const preferredB = ACTORS.filter((id) => preferredNode(id, ["a", "b"]) === "b");
    const scanA = scanner(pool, schema, a, { graceMs: 50, intervalMs: 20, parallel: 100 });
    const first = await scanA.scanOnce();
    expect(first.deferred).toBe(preferredB.length);
    scanA.start();
    await waitFor("every agent held by a", () => ACTORS.every((id) => a.held.has(id)));
    expect(scanA.stats.graceTakes).toBe(preferredB.length);
  });

  test("an agent due within the lookahead is taken ahead of time, a later one is not", async () => {
    const later = Date.now() + 3_600_000;
    const { pool, schema, a } = await orphaned(["ticker/soon", "ticker/later"], (id) => (id === "ticker/soon" ? Date.now() + 5_000 : later));
    const scanA = scanner(pool, schema, a, { lookaheadMs: 60_000, graceMs: 0 });
    expect((await scanA.scanOnce()).taken).toEqual(["ticker/soon"]);
    await waitFor("the take", () => scanA.taking === 0);
    expect([...a.held.keys()]).toEqual(["ticker/soon"]);
  });

  test("two nodes taking the same agent at once: one claims it, the other finds it held", async () => {
    const { pool, schema, a, b } = await orphaned(["ticker/race"], () => Date.now() - 1);
    const scanA = scanner(pool, schema, a, { graceMs: 0 });
    const scanB = scanner(pool, schema, b, { graceMs: 0 });
    await Promise.all([scanA.scanOnce(), scanB.scanOnce()]);
    await waitFor("the takes", () => scanA.taking === 0 && scanB.taking === 0);
    expect(scanA.taken.length + scanB.taken.length).toBe(1);
    expect(a.held.size + b.held.size).toBe(1);
  });

  test("a failed take is reported and left alone for retryAfterMs; an inactive node scans nothing", async () => {
    const { pool, schema, a, b } = await orphaned(["ticker/broken"], () => Date.UTC(2020, 0, 1));
    const reports: string[] = [];
    const failing = new DueScanner({
      pool,
      schema,
      nodeId: "a",
      active: () => true,
      take: () => Promise.reject(new Error("no class is registered for /ticker/")),
      graceMs: 0,
      retryAfterMs: 60_000,
      report: (what, error) => reports.push(`${what}: ${error.message}`),
    });
    pg.track({ close: () => failing.stop() });
    expect((await failing.scanOnce()).taken).toEqual(["ticker/broken"]);
    await waitFor("the failure", () => failing.stats.failures === 1);
    expect(reports).toEqual(["taking over ticker/broken (due 2020-01-01T00:00:00.000Z) failed: no class is registered for /ticker/"]);
    expect((await failing.scanOnce()).taken).toEqual([]);
    expect(failing.stats.takes).toBe(1);
    await b.membership.close();
    const inactive = scanner(pool, schema, b, { graceMs: 0 });
    expect(await inactive.scanOnce()).toEqual({ orphans: 0, taken: [], deferred: 0 });
    expect(inactive.stats.scans).toBe(0);
    expect(a.held.size).toBe(0);
  });

  test("a scan that fails is reported once per run of failures", async () => {
    const unreachable = pg.pool({ connectionString: "postgres://nobody@127.0.0.1:1/none" });
    const reports: string[] = [];
    const lonely = new DueScanner({ pool: unreachable, nodeId: "a", active: () => true, take: () => Promise.resolve(), intervalMs: 5, report: (what) => reports.push(what) });
    pg.track({ close: () => lonely.stop() });
    lonely.start();
    await waitFor("three failed scans", () => lonely.stats.failures >= 3);
    expect(reports).toEqual(["scanning actor_due failed"]);
  });

  test("options are checked", () => {
    const pool = pg.pool();
    const base = { pool, nodeId: "a", active: () => true, take: () => Promise.resolve() };
    expect(() => new DueScanner({ ...base, intervalMs: 0 })).toThrow("DueScanner intervalMs must be a positive number, got 0");
    expect(() => new DueScanner({ ...base, graceMs: -1 })).toThrow("DueScanner graceMs must be a non-negative number, got -1");
  });
});
