import { createHash } from "node:crypto";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { FencedError } from "../../../src/cluster/log.ts";
import { insertBatch, runner } from "../../../src/cluster/pg/append-sql.ts";
import { GroupCommitter } from "../../../src/cluster/pg/committer.ts";
import { readHistory } from "../../../src/cluster/pg/history.ts";
import { Leases } from "../../../src/cluster/pg/leases.ts";
import { Membership } from "../../../src/cluster/pg/membership.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "./fixture.ts";

/** Relaxed timings: these tests declare nodes dead themselves, and a loaded machine must not do it for them. */
const TIMINGS = { ttlMs: 10_000, heartbeatMs: 500, reapMs: 200, marginMs: 1_000 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * cluster.md's exp3: an old owner's append has executed but not committed when a new owner takes the
 * actor over. With the lease row held FOR SHARE by the append, the takeover waits for it and then
 * sees it; without that, the acknowledged write was invisible to the new owner.
 */
describe.skipIf(postgresUnavailable() !== undefined)("the fence", () => {
  const pg_ = pgFixture("fence");

  test("a claim waits for an append in flight under the old epoch, and the new owner's history has it", async () => {
    const pool = pg_.pool();
    const schema = await pg_.schema(pool);
    const t = clusterTables(schema);
    const a = pg_.track(await Membership.join({ pool, schema, nodeId: "a", address: "http://a", ...TIMINGS }));
    const b = pg_.track(await Membership.join({ pool, schema, nodeId: "b", address: "http://b", ...TIMINGS }));
    expect(await new Leases({ pool, membership: a, schema }).claim("x")).toEqual({ claimed: true, epoch: 1, head: 1 });

    // The old owner's append, in a transaction left open: executed, not committed.
    const oldOwner = new pg.Client({ connectionString: pg_.url });
    pg_.track({ close: () => oldOwner.end() });
    oldOwner.on("error", () => undefined);
    await oldOwner.connect();
    await oldOwner.query("BEGIN");
    const payload = bytes("the acknowledged write");
    const digest = createHash("sha256").update(payload).digest();
    const inserted = await insertBatch(runner(oldOwner as pg.PoolClient, 5_000), t, [
      { entry: { actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload }, digest },
    ]);
    expect(inserted.size).toBe(1);

    // a is declared dead; b claims and must block on the lease row.
    a.pauseTimers();
    await pool.query(`UPDATE ${t.nodes} SET state = 'dead' WHERE node_id = 'a'`);
    let claimSettled = false;
    const claim = new Leases({ pool, membership: b, schema }).claim("x").finally(() => (claimSettled = true));
    await waitFor("b's claim to wait on the lease row lock", async () => {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'`,
      );
      return rows[0].n === 1;
    });
    expect(claimSettled).toBe(false);

    await oldOwner.query("COMMIT");
    expect(await claim).toEqual({ claimed: true, epoch: 2, head: 3 });
    const history = await readHistory(pool, "x", schema);
    expect(history.head).toBe(3);
    expect(history.changesets.map((c) => [c.seq, Buffer.from(c.payload).toString()])).toEqual([[2, "the acknowledged write"]]);
  });

  test("a stale append after a claim inserts nothing and rejects with FencedError", async () => {
    const pool = pg_.pool();
    const schema = await pg_.schema(pool);
    const a = pg_.track(await Membership.join({ pool, schema, nodeId: "a", address: "http://a", ...TIMINGS }));
    const b = pg_.track(await Membership.join({ pool, schema, nodeId: "b", address: "http://b", ...TIMINGS }));
    await new Leases({ pool, membership: a, schema }).claim("x");
    const stale = pg_.track(new GroupCommitter({ pool, schema }));
    await stale.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("before") });

    a.pauseTimers();
    await pool.query(`UPDATE ${clusterTables(schema).nodes} SET state = 'dead' WHERE node_id = 'a'`);
    expect(await new Leases({ pool, membership: b, schema }).claim("x")).toEqual({ claimed: true, epoch: 2, head: 3 });

    // Racing for the marker's seq and for the next one: both refused, neither written.
    const racing = stale.append({ actorId: "x", seq: 3, epoch: 1, kind: "changeset", payload: bytes("stale 3") });
    const next = stale.append({ actorId: "x", seq: 4, epoch: 1, kind: "changeset", payload: bytes("stale 4") });
    await expect(racing).rejects.toBeInstanceOf(FencedError);
    await expect(next).rejects.toThrow("x: this node's lease (epoch 1) was taken over by another node; the write was refused");
    expect(stale.stats.fenced).toBe(2);
    const history = await readHistory(pool, "x", schema);
    expect(history).toEqual({ changesets: [{ seq: 2, payload: Buffer.from("before") }], head: 3 });
    // An actor with no lease row at all is fenced too.
    await expect(stale.append({ actorId: "never-claimed", seq: 1, epoch: 1, kind: "changeset", payload: bytes("?") })).rejects.toBeInstanceOf(FencedError);
  });
});
