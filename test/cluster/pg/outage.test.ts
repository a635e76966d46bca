import type pg from "pg";
import { describe, expect, test } from "vitest";
import { GroupCommitter } from "../../../src/cluster/pg/committer.ts";
import { PostgresUnreachableError } from "../../../src/cluster/pg/errors.ts";
import { readHistory } from "../../../src/cluster/pg/history.ts";
import { Membership } from "../../../src/cluster/pg/membership.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgControl, pgFixture, waitFor } from "./fixture.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function leased(pool: pg.Pool, schema: string, actorId: string): Promise<void> {
  const t = clusterTables(schema);
  await pool.query(`INSERT INTO ${t.lease} VALUES ($1, 'a', 1, 1)`, [actorId]);
  await pool.query(`INSERT INTO ${t.log} (actor_id, seq, epoch, kind, payload, digest) VALUES ($1, 1, 1, 2, '', sha256(''))`, [actorId]);
}

/** Postgres stopped and started again under running nodes: writes wait, then go through or fail clearly. */
describe.skipIf(postgresUnavailable() !== undefined)("Postgres unreachable", () => {
  const pg = pgFixture("outage", { ownServer: true });

  test("an append waits while Postgres is down and succeeds once it is back; the heartbeat recovers too", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, "x");
    const membership = pg.track(await Membership.join({ pool, schema, nodeId: "a", address: "http://a", ttlMs: 30_000, heartbeatMs: 100, marginMs: 1_000 }));
    const committer = pg.track(new GroupCommitter({ pool, schema, appendTimeoutMs: 20_000 }));
    const control = pgControl(pg.server);
    await control.stop();
    let settled = false;
    const append = committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("through the outage") });
    void append.finally(() => (settled = true)).catch(() => undefined);
    await waitFor("the append to retry", () => committer.stats.retries >= 3);
    await waitFor("a renewal to fail", () => membership.stats.renewFailures >= 1);
    expect(settled).toBe(false);
    await control.start();
    await append;
    expect((await readHistory(pool, "x", schema)).changesets.map((c) => Buffer.from(c.payload).toString())).toEqual(["through the outage"]);
    const renewals = membership.stats.renewals;
    await waitFor("the heartbeat to renew again", () => membership.stats.renewals > renewals);
    expect(membership.valid).toBe(true);
  });

  test("with a short timeout the append fails clearly, and nothing was written", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, "x");
    // A pool that never connected: with the server down no statement can leave, so nothing can have
    // been written. (Through `pool`, whose idle connection the server's shutdown ends, a loaded machine
    // may send the statement before the connection's end is read: that is the next test's unknown outcome.)
    const committer = pg.track(new GroupCommitter({ pool: pg.pool(), schema, appendTimeoutMs: 300 }));
    const control = pgControl(pg.server);
    await control.stop();
    try {
      const failure = await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("lost cause") }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PostgresUnreachableError);
      expect((failure as PostgresUnreachableError).outcome).toBe("not-written");
      expect((failure as Error).message).toMatch(
        /^x: append of changesets at seq 2: Postgres was unreachable for \d+ ms \(last error: .+\); it was not written$/,
      );
      const snapshot = await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "snapshot", payload: bytes("image") }).catch((error: unknown) => error);
      expect((snapshot as Error).message).toMatch(/^x: append of snapshot at seq 2: Postgres was unreachable for \d+ ms/);
    } finally {
      await control.start();
    }
    expect((await readHistory(pool, "x", schema)).head).toBe(1);
  });

  test("a link that goes silent mid-statement ends in an unknown outcome, said so, after the timeout", async () => {
    const { FaultProxy } = await import("./proxy.ts");
    const direct = pg.pool();
    const schema = await pg.schema(direct);
    await leased(direct, schema, "x");
    const proxy = pg.track(await FaultProxy.start(pg.server.port));
    const pool = pg.pool({ connectionString: proxy.url(pg.url), max: 1 });
    await pool.query("SELECT 1");
    const committer = pg.track(new GroupCommitter({ pool, schema, appendTimeoutMs: 600, attemptTimeoutMs: 200 }));
    proxy.mode = "blackhole";
    const failure = await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("in limbo") }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PostgresUnreachableError);
    expect((failure as PostgresUnreachableError).outcome).toBe("unknown");
    expect((failure as Error).message).toMatch(/it may or may not have been written$/);
  });
});
