import type pg from "pg";
import { describe, expect, test } from "vitest";
import { FencedError } from "../../../src/cluster/log.ts";
import { GroupCommitter, MAX_CHANGESET_BYTES } from "../../../src/cluster/pg/committer.ts";
import { readHistory } from "../../../src/cluster/pg/history.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "./fixture.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (payload: Uint8Array): string => Buffer.from(payload).toString();

/** Lease rows as a claim leaves them (epoch 1, marker at seq 1), without the membership around them. */
async function leased(pool: pg.Pool, schema: string, actorIds: string[]): Promise<void> {
  const t = clusterTables(schema);
  await pool.query(`INSERT INTO ${t.lease} (actor_id, owner, owner_incarnation, epoch) SELECT id, 'a', 1, 1 FROM unnest($1::text[]) id`, [actorIds]);
  await pool.query(
    `INSERT INTO ${t.log} (actor_id, seq, epoch, kind, payload, digest) SELECT id, 1, 1, 2, '', sha256('') FROM unnest($1::text[]) id`,
    [actorIds],
  );
}

describe.skipIf(postgresUnavailable() !== undefined)("group committer", () => {
  const pg = pgFixture("committer");

  test("500 appends across 500 actors in one turn go in one statement, all durable", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const actors = Array.from({ length: 500 }, (_, i) => `agent/${i}`);
    await leased(pool, schema, actors);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await Promise.all(actors.map((actorId) => committer.append({ actorId, seq: 2, epoch: 1, kind: "changeset", payload: bytes(`v of ${actorId}`) })));
    expect(committer.stats).toMatchObject({ batches: 1, statements: 1, entries: 500, retries: 0, largestBatch: 500 });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${clusterTables(schema).log} WHERE seq = 2`);
    expect(rows[0].n).toBe(500);
    expect((await readHistory(pool, "agent/321", schema)).changesets.map((c) => text(c.payload))).toEqual(["v of agent/321"]);
  });

  test("a turn over the batch limits is split into several statements, sent together", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const actors = Array.from({ length: 25 }, (_, i) => `a${i}`);
    await leased(pool, schema, actors);
    const committer = pg.track(new GroupCommitter({ pool, schema, maxBatchEntries: 10, maxBatchBytes: 1_000 }));
    const appends = actors.map((actorId, i) => committer.append({ actorId, seq: 2, epoch: 1, kind: "changeset", payload: new Uint8Array(i === 0 ? 5_000 : 10) }));
    await Promise.all(appends);
    // The 5,000-byte entry goes alone (over maxBatchBytes); the other 24 in batches of at most 10.
    expect(committer.stats).toMatchObject({ batches: 4, statements: 4, entries: 25, largestBatch: 10 });
  });

  test("appends in later turns go in later statements; one actor's entries keep their order", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, ["x"]);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    for (let seq = 2; seq <= 6; seq++) await committer.append({ actorId: "x", seq, epoch: 1, kind: "changeset", payload: bytes(`#${seq}`) });
    expect(committer.stats.statements).toBe(5);
    const history = await readHistory(pool, "x", schema);
    expect(history.changesets.map((c) => [c.seq, text(c.payload)])).toEqual([[2, "#2"], [3, "#3"], [4, "#4"], [5, "#5"], [6, "#6"]]);
    expect(history.head).toBe(6);
  });

  test("a snapshot drops the rows it covers; history is the snapshot and the changesets after it", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, ["x", "other"]);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    for (let seq = 2; seq <= 4; seq++) await committer.append({ actorId: "x", seq, epoch: 1, kind: "changeset", payload: bytes(`#${seq}`) });
    await committer.append({ actorId: "other", seq: 2, epoch: 1, kind: "changeset", payload: bytes("untouched") });
    await committer.append({ actorId: "x", seq: 5, epoch: 1, kind: "snapshot", payload: bytes("image at 5") });
    await committer.append({ actorId: "x", seq: 6, epoch: 1, kind: "changeset", payload: bytes("#6") });
    const { rows } = await pool.query(`SELECT seq::int FROM ${clusterTables(schema).log} WHERE actor_id = 'x' ORDER BY seq`);
    expect(rows.map((r) => r.seq)).toEqual([6]);
    const history = await readHistory(pool, "x", schema);
    expect({ ...history, snapshot: { seq: history.snapshot?.seq, image: text(history.snapshot!.image) } }).toEqual({
      snapshot: { seq: 5, image: "image at 5" },
      changesets: [{ seq: 6, payload: Buffer.from("#6") }],
      head: 6,
    });
    expect((await readHistory(pool, "other", schema)).changesets).toHaveLength(1);
    expect(committer.stats.snapshots).toBe(1);
    // A later snapshot replaces it; an older one is refused and changes nothing.
    await committer.append({ actorId: "x", seq: 7, epoch: 1, kind: "snapshot", payload: bytes("image at 7") });
    await expect(committer.append({ actorId: "x", seq: 6, epoch: 1, kind: "snapshot", payload: bytes("old") })).rejects.toThrow(
      "x: snapshot at seq 6 is not newer than the stored snapshot; nothing was written",
    );
    const latest = await readHistory(pool, "x", schema);
    expect([latest.snapshot?.seq, text(latest.snapshot!.image), latest.changesets, latest.head]).toEqual([7, "image at 7", [], 7]);
  });

  test("a snapshot under an old epoch is fenced and deletes nothing", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, ["x"]);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("#2") });
    await pool.query(`UPDATE ${clusterTables(schema).lease} SET epoch = 2`);
    await expect(committer.append({ actorId: "x", seq: 3, epoch: 1, kind: "snapshot", payload: bytes("stale image") })).rejects.toBeInstanceOf(FencedError);
    const history = await readHistory(pool, "x", schema);
    expect(history.snapshot).toBeUndefined();
    expect(history.changesets.map((c) => c.seq)).toEqual([2]);
  });

  test("bad entries are refused with the limit named, and nothing is written", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, ["x"]);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    const base = { actorId: "x", seq: 2, epoch: 1, kind: "changeset" as const, payload: bytes("ok") };
    await expect(committer.append({ ...base, seq: 0 })).rejects.toThrow("x: seq must be a positive safe integer, got 0");
    await expect(committer.append({ ...base, epoch: 1.5 })).rejects.toThrow("x: epoch must be a positive safe integer, got 1.5");
    await expect(committer.append({ ...base, kind: "ddl" as "changeset" })).rejects.toThrow("x: kind must be changeset, snapshot or epoch_start, got ddl");
    await expect(committer.append({ ...base, payload: "text" as unknown as Uint8Array })).rejects.toThrow("x: payload must be a Uint8Array");
    await expect(committer.append({ ...base, actorId: "a\u0000b" })).rejects.toThrow("actor id must be a string of 1–1024 characters without NUL, got 3 characters");
    await expect(committer.append({ ...base, payload: new Uint8Array(MAX_CHANGESET_BYTES + 1) })).rejects.toThrow(
      `x: changeset payload of ${MAX_CHANGESET_BYTES + 1} bytes exceeds the limit of ${MAX_CHANGESET_BYTES} bytes; nothing was written`,
    );
    expect(() => new GroupCommitter({ pool, schema, appendTimeoutMs: 0 })).toThrow("GroupCommitter appendTimeoutMs must be a positive number, got 0");
    expect(committer.stats.statements).toBe(0);
    await committer.close();
    await expect(committer.append(base)).rejects.toThrow("x: the group committer is closed; the entry at seq 2 was not written");
    expect((await readHistory(pool, "x", schema)).head).toBe(1);
  });

  test("an entry at a seq already holding someone else's row is fenced; our own row again is success", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await leased(pool, schema, ["x"]);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("mine") });
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("mine") });
    await expect(committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("different") })).rejects.toBeInstanceOf(FencedError);
    // The marker at seq 1 has an empty payload: an empty changeset of the same epoch at seq 1 is still not ours.
    await expect(committer.append({ actorId: "x", seq: 1, epoch: 1, kind: "changeset", payload: new Uint8Array(0) })).rejects.toBeInstanceOf(FencedError);
    expect((await readHistory(pool, "x", schema)).changesets.map((c) => text(c.payload))).toEqual(["mine"]);
  });

  test("a statement Postgres rolls back (deadlock) is sent again; any other error from Postgres fails the batch", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const t = clusterTables(schema);
    await leased(pool, schema, ["x", "y"]);
    // Sequences are not transactional: the trigger's nextval decides which attempt fails, and how.
    await pool.query(`CREATE SEQUENCE "${schema}".attempts`);
    await pool.query(`CREATE FUNCTION "${schema}".fail_some() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE n bigint := nextval('"${schema}".attempts');
      BEGIN
        IF n = 1 THEN RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01'; END IF;
        IF NEW.actor_id = 'y' THEN RAISE EXCEPTION 'injected refusal' USING ERRCODE = '23514'; END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER fail_some BEFORE INSERT ON ${t.log} FOR EACH ROW EXECUTE FUNCTION "${schema}".fail_some()`);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: "x", seq: 2, epoch: 1, kind: "changeset", payload: bytes("after a deadlock") });
    expect(committer.stats).toMatchObject({ statements: 2, retries: 1, resolutions: 0, entries: 1 });
    const both = [
      committer.append({ actorId: "x", seq: 3, epoch: 1, kind: "changeset", payload: bytes("same batch") }),
      committer.append({ actorId: "y", seq: 2, epoch: 1, kind: "changeset", payload: bytes("refused") }),
    ];
    for (const append of both) await expect(append).rejects.toThrow("injected refusal");
    expect((await readHistory(pool, "x", schema)).changesets.map((c) => text(c.payload))).toEqual(["after a deadlock"]);
    expect((await readHistory(pool, "y", schema)).changesets).toEqual([]);
  });
});
