import { createHash } from "node:crypto";
import type pg from "pg";
import { describe, expect, test } from "vitest";
import type { LogEntry } from "../../../src/cluster/log.ts";
import { resolveEntries, resolveSnapshot, runner, type SendableEntry } from "../../../src/cluster/pg/append-sql.ts";
import { GroupCommitter } from "../../../src/cluster/pg/committer.ts";
import { readHistory } from "../../../src/cluster/pg/history.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "./fixture.ts";
import { FaultProxy } from "./proxy.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const sendable = (entry: LogEntry): SendableEntry => ({ entry, digest: createHash("sha256").update(entry.payload).digest() });

async function leased(pool: pg.Pool, schema: string, actorId: string): Promise<void> {
  const t = clusterTables(schema);
  await pool.query(`INSERT INTO ${t.lease} VALUES ($1, 'a', 1, 1)`, [actorId]);
  await pool.query(`INSERT INTO ${t.log} (actor_id, seq, epoch, kind, payload, digest) VALUES ($1, 1, 1, 2, '', sha256(''))`, [actorId]);
}

/** A commit whose reply never arrived: re-read, then success, resend, or fenced — never written twice. */
describe.skipIf(postgresUnavailable() !== undefined)("ambiguous commits", () => {
  const pg = pgFixture("ambiguous");

  test("the re-read tells ours, absent-while-we-hold-the-lease, and fenced apart", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    await leased(pool, schema, "x");
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("written") });
    const client = await pool.connect();
    try {
      const run = runner(client, 5_000);
      const at = (seq: number, payload: string): SendableEntry => sendable({ actorId: "x", seq, epoch: 1, kind: "changeset", payload: bytes(payload) });
      expect(await resolveEntries(run, t, [at(2, "written"), at(2, "another payload"), at(3, "never sent")])).toEqual(["written", "fenced", "absent-epoch-holds"]);
      const snapshot = sendable({ actorId: "x", seq: 3, epoch: 1, kind: "snapshot", payload: bytes("image") });
      expect(await resolveSnapshot(run, t, snapshot)).toBe("absent-epoch-holds");
      await committer.append(snapshot.entry);
      expect(await resolveSnapshot(run, t, snapshot)).toBe("written");
      await pool.query(`UPDATE ${t.lease} SET epoch = 2`);
      expect(await resolveEntries(run, t, [at(4, "after the takeover")])).toEqual(["fenced"]);
      expect(await resolveSnapshot(run, t, { ...snapshot, entry: { ...snapshot.entry, seq: 9 } })).toBe("fenced");
    } finally {
      client.release();
    }
  });

  test("a backend terminated mid-statement: the entry is absent, the lease still ours, so it is sent again once", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    await leased(pool, schema, "x");
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    // Hold the lease row so the append's FOR SHARE waits, where we can terminate it deterministically.
    const locker = await pool.connect();
    await locker.query("BEGIN");
    await locker.query(`SELECT 1 FROM ${t.lease} WHERE actor_id = 'x' FOR UPDATE`);
    const append = committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("once") });
    const waiting = async (): Promise<number | undefined> => {
      const { rows } = await pool.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%'`);
      return rows[0]?.pid;
    };
    await waitFor("the append to wait on the lease row", async () => (await waiting()) !== undefined);
    await pool.query("SELECT pg_terminate_backend($1)", [await waiting()]);
    await waitFor("the resend to wait on the lease row again", async () => committer.stats.statements === 2 && (await waiting()) !== undefined);
    await locker.query("ROLLBACK");
    locker.release();
    await append;
    expect(committer.stats).toMatchObject({ statements: 2, retries: 1, resolutions: 1, entries: 1, fenced: 0 });
    expect((await readHistory(pool, "x", schema)).changesets.map((c) => c.seq)).toEqual([2]);
  });

  test("the reply to a committed statement is lost: the re-read finds our row, and it is not sent again", async () => {
    const direct = pg.pool();
    const schema = await pg.schema(direct);
    await leased(direct, schema, "x");
    const proxy = pg.track(await FaultProxy.start(pg.server.port));
    const pool = pg.pool({ connectionString: proxy.url(pg.url), max: 1 });
    await pool.query("SELECT 1");
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    proxy.mode = "cut-after-commit";
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("committed, reply lost") });
    expect(proxy.cuts).toBe(1);
    expect(committer.stats).toMatchObject({ statements: 1, retries: 1, resolutions: 1, entries: 1 });
    const history = await readHistory(direct, "x", schema);
    expect(history.changesets.map((c) => [c.seq, Buffer.from(c.payload).toString()])).toEqual([[2, "committed, reply lost"]]);
  });

  test("a snapshot whose connection is cut mid-transaction is resolved and written once", async () => {
    const direct = pg.pool();
    const schema = await pg.schema(direct);
    await leased(direct, schema, "x");
    const proxy = pg.track(await FaultProxy.start(pg.server.port));
    const pool = pg.pool({ connectionString: proxy.url(pg.url), max: 1 });
    await pool.query("SELECT 1");
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("#2") });
    proxy.mode = "cut-after-commit"; // cuts the reply to BEGIN: nothing of the snapshot committed
    await committer.append({ actorId: "x", seq: 3, epoch: 1, kind: "snapshot", payload: bytes("image") });
    expect(committer.stats).toMatchObject({ snapshots: 2, retries: 1, resolutions: 1 });
    const history = await readHistory(direct, "x", schema);
    expect([history.snapshot?.seq, history.changesets, history.head]).toEqual([3, [], 3]);
  });
});
