import { describe, expect, test } from "vitest";
import { claimingNodes, MAX_DUE_BATCH, orphansDue, readDue, writeDue } from "../../../src/cluster/pg/due.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "../pg/fixture.ts";
import { declareDead, dueRows, simNode } from "./support.ts";

describe.skipIf(postgresUnavailable() !== undefined)("actor_due statements", () => {
  const pg = pgFixture("due_sql");

  test("one statement writes, moves and removes many actors' rows under their epochs", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    const a = await simNode(pg, pool, schema, "a");
    await a.claim("counter/x");
    await a.claim("counter/y");
    const at = Date.UTC(2030, 0, 1);
    expect(await writeDue(pool, t, [{ actorId: "counter/x", epoch: 1, at }, { actorId: "counter/y", epoch: 1, at: at + 1_500 }])).toEqual([]);
    expect(await dueRows(pool, schema)).toEqual({ "counter/x": [at, 1], "counter/y": [at + 1_500, 1] });
    // Later and earlier both move the row (the owner's index is exact); null removes it.
    expect(await writeDue(pool, t, [{ actorId: "counter/x", epoch: 1, at: at + 60_000 }, { actorId: "counter/y", epoch: 1, at: null }])).toEqual([]);
    expect(await dueRows(pool, schema)).toEqual({ "counter/x": [at + 60_000, 1] });
    expect(await readDue(pool, "counter/x", schema)).toEqual({ dueAt: at + 60_000, epoch: 1 });
    expect(await readDue(pool, "counter/y", schema)).toBeUndefined();
    // Two values for one actor in one batch: the last wins.
    expect(await writeDue(pool, t, [{ actorId: "counter/x", epoch: 1, at: 5 }, { actorId: "counter/x", epoch: 1, at: 7 }])).toEqual([]);
    expect(await readDue(pool, "counter/x", schema)).toEqual({ dueAt: 7, epoch: 1 });
  });

  test("a stale owner cannot move or remove the row; the new owner can", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    const a = await simNode(pg, pool, schema, "a");
    const b = await simNode(pg, pool, schema, "b");
    await a.claim("x");
    await writeDue(pool, t, [{ actorId: "x", epoch: 1, at: 1_000 }]);
    await declareDead(pool, schema, a);
    expect(await b.claim("x")).toBe(true);
    // Fenced: the lease is at epoch 2 now. An actor never claimed is refused the same way.
    expect(await writeDue(pool, t, [{ actorId: "x", epoch: 1, at: 9_000 }, { actorId: "never", epoch: 1, at: 1 }])).toEqual(["never", "x"]);
    expect(await writeDue(pool, t, [{ actorId: "x", epoch: 1, at: null }])).toEqual(["x"]);
    expect(await dueRows(pool, schema)).toEqual({ x: [1_000, 1] });
    expect(await writeDue(pool, t, [{ actorId: "x", epoch: 2, at: 2_000 }])).toEqual([]);
    expect(await dueRows(pool, schema)).toEqual({ x: [2_000, 2] });
  });

  test("orphans: due by now + lookahead, and no live node holds the lease", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    const a = await simNode(pg, pool, schema, "a");
    const c = await simNode(pg, pool, schema, "c");
    const now = Date.now();
    for (const id of ["held", "dead-past", "dead-soon", "dead-later", "released"]) await (id === "held" ? a : c).claim(id);
    await writeDue(pool, t, [
      { actorId: "held", epoch: 1, at: now - 60_000 },
      { actorId: "dead-past", epoch: 1, at: now - 60_000 },
      { actorId: "dead-soon", epoch: 1, at: now + 2_000 },
      { actorId: "dead-later", epoch: 1, at: now + 3_600_000 },
      { actorId: "released", epoch: 1, at: now - 30_000 },
    ]);
    expect(await orphansDue(pool, t, 60_000, 100)).toEqual([]);
    await c.leases.release("released", 1);
    await declareDead(pool, schema, c);
    expect((await orphansDue(pool, t, 60_000, 100)).map((o) => o.actorId)).toEqual(["dead-past", "released", "dead-soon"]);
    expect(await orphansDue(pool, t, 0, 100)).toEqual([
      { actorId: "dead-past", dueAt: now - 60_000 },
      { actorId: "released", dueAt: now - 30_000 },
    ]);
    expect((await orphansDue(pool, t, 60_000, 1)).map((o) => o.actorId)).toEqual(["dead-past"]);
    // A row whose lease row is gone, or whose owner's node row is gone, is an orphan too.
    await pool.query(`DELETE FROM ${t.nodes} WHERE node_id = 'a'`);
    expect((await orphansDue(pool, t, 0, 100)).map((o) => o.actorId)).toEqual(["held", "dead-past", "released"]);
    expect(await claimingNodes(pool, t)).toEqual([]);
  });

  test("bad input is refused before any SQL, naming the limit", async () => {
    const pool = pg.pool();
    const t = clusterTables(await pg.schema(pool));
    await expect(writeDue(pool, t, [{ actorId: "x", epoch: 0, at: 1 }])).rejects.toThrow("x: epoch must be a positive safe integer, got 0");
    await expect(writeDue(pool, t, [{ actorId: "x", epoch: 1, at: Number.NaN }])).rejects.toThrow("x: a next wake must be a finite number of epoch milliseconds or null, got NaN");
    await expect(writeDue(pool, t, [{ actorId: "", epoch: 1, at: 1 }])).rejects.toThrow("actor id must be a string of 1–1024 characters without NUL, got 0 characters");
    const many = Array.from({ length: MAX_DUE_BATCH + 1 }, (_, i) => ({ actorId: `a/${i}`, epoch: 1, at: 1 }));
    await expect(writeDue(pool, t, many)).rejects.toThrow(`writeDue: ${MAX_DUE_BATCH + 1} rows exceed the limit of ${MAX_DUE_BATCH} per statement; nothing was written`);
    expect(await writeDue(pool, t, [])).toEqual([]);
  });
});
