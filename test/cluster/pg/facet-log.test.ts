import { randomBytes } from "node:crypto";
import type pg from "pg";
import { describe, expect, test } from "vitest";
import { facetLogKey } from "../../../src/cluster/facet-keys.ts";
import { FencedError } from "../../../src/cluster/log.ts";
import { GroupCommitter } from "../../../src/cluster/pg/committer.ts";
import { readTreeHistory, removeFacetTree } from "../../../src/cluster/pg/facet-log.ts";
import { readHistory } from "../../../src/cluster/pg/history.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "./fixture.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (payload: Uint8Array): string => Buffer.from(payload).toString();
const readFacetHistories = async (pool: pg.Pool, rootId: string, schema: string) => (await readTreeHistory(pool, rootId, schema)).facets;

/** A root's lease row at `epoch` (no membership around it). */
async function lease(pool: pg.Pool, schema: string, rootId: string, epoch: number): Promise<void> {
  await pool.query(
    `INSERT INTO ${clusterTables(schema).lease} (actor_id, owner, owner_incarnation, epoch) VALUES ($1, 'a', 1, $2)
     ON CONFLICT (actor_id) DO UPDATE SET epoch = excluded.epoch`,
    [rootId, epoch],
  );
}

describe.skipIf(postgresUnavailable() !== undefined)("facets in the cluster's log", () => {
  const pg = pgFixture("facet_log");
  const t1 = facetLogKey("inbox/ada\0t1").key;
  const r1 = facetLogKey("inbox/ada\0t1\0r1").key;
  const t2 = facetLogKey("inbox/ada\0t2").key;
  const otherRoot = facetLogKey("inbox/adam\0t1").key;

  test("a facet's entries are fenced by its root's lease, not by a lease of its own", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await lease(pool, schema, "inbox/ada", 1);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    await committer.append({ actorId: t1, leaseId: "inbox/ada", seq: 1, epoch: 1, kind: "changeset", payload: bytes("t1 #1") });
    // Without the root named, the facet has no lease of its own: refused.
    await expect(committer.append({ actorId: t1, seq: 2, epoch: 1, kind: "changeset", payload: bytes("unfenced") })).rejects.toBeInstanceOf(FencedError);
    await lease(pool, schema, "inbox/ada", 2);
    await expect(committer.append({ actorId: t1, leaseId: "inbox/ada", seq: 2, epoch: 1, kind: "changeset", payload: bytes("stale") })).rejects.toBeInstanceOf(FencedError);
    await expect(committer.append({ actorId: t1, leaseId: "inbox/ada", seq: 2, epoch: 1, kind: "snapshot", payload: bytes("stale image") })).rejects.toBeInstanceOf(FencedError);
    await committer.append({ actorId: t1, leaseId: "inbox/ada", seq: 2, epoch: 2, kind: "changeset", payload: bytes("t1 #2") });
    expect((await readHistory(pool, t1, schema)).changesets.map((entry) => text(entry.payload))).toEqual(["t1 #1", "t1 #2"]);
  });

  test("a root's facets are read together, other roots' left out; a removed tree is gone, its siblings kept", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await lease(pool, schema, "inbox/ada", 1);
    await lease(pool, schema, "inbox/adam", 1);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    for (const [key, rootId] of [[t1, "inbox/ada"], [r1, "inbox/ada"], [t2, "inbox/ada"], [otherRoot, "inbox/adam"]] as const) {
      await committer.append({ actorId: key, leaseId: rootId, seq: 1, epoch: 1, kind: "changeset", payload: bytes(`${key} #1`) });
    }
    await committer.append({ actorId: t2, leaseId: "inbox/ada", seq: 2, epoch: 1, kind: "snapshot", payload: bytes("t2 image") });
    const tree = await readFacetHistories(pool, "inbox/ada", schema);
    expect([...tree.keys()].sort()).toEqual([t1, r1, t2].sort());
    expect(tree.get(t2)).toMatchObject({ head: 2, changesets: [] });
    expect(text(tree.get(t2)!.snapshot!.image)).toBe("t2 image");

    // Under an old epoch nothing goes; under the current one, t1 and its reply go, t2 stays.
    expect(await removeFacetTree(pool, { key: t1, rootId: "inbox/ada", epoch: 0 }, schema)).toBe(false);
    expect([...(await readFacetHistories(pool, "inbox/ada", schema)).keys()]).toHaveLength(3);
    expect(await removeFacetTree(pool, { key: t1, rootId: "inbox/ada", epoch: 1 }, schema)).toBe(true);
    expect([...(await readFacetHistories(pool, "inbox/ada", schema)).keys()]).toEqual([t2]);
    expect([...(await readFacetHistories(pool, "inbox/adam", schema)).keys()]).toEqual([otherRoot]);
    // Again: nothing left to remove, still fine.
    expect(await removeFacetTree(pool, { key: t1, rootId: "inbox/ada", epoch: 1 }, schema)).toBe(true);
  });

  test("multi-megabyte snapshots come back whole, for a root and for its facets", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    await lease(pool, schema, "inbox/big", 1);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    const image = randomBytes(2 * 1024 * 1024 + 12_345);
    const facet = facetLogKey("inbox/big\0t1").key;
    await committer.append({ actorId: "inbox/big", seq: 2, epoch: 1, kind: "snapshot", payload: image });
    await committer.append({ actorId: "inbox/big", seq: 3, epoch: 1, kind: "changeset", payload: bytes("after") });
    await committer.append({ actorId: facet, leaseId: "inbox/big", seq: 1, epoch: 1, kind: "snapshot", payload: image.subarray(7) });
    const root = await readHistory(pool, "inbox/big", schema);
    expect(Buffer.from(root.snapshot!.image).equals(image)).toBe(true);
    expect([root.snapshot!.seq, root.changesets.map((entry) => text(entry.payload)), root.head]).toEqual([2, ["after"], 3]);
    const facets = await readFacetHistories(pool, "inbox/big", schema);
    expect(Buffer.from(facets.get(facet)!.snapshot!.image).equals(image.subarray(7))).toBe(true);
  });

  test("names with quotes, backslashes and the separator read back as written", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const rootId = "inbox/o'brien\\x";
    await lease(pool, schema, rootId, 1);
    const committer = pg.track(new GroupCommitter({ pool, schema }));
    const facet = facetLogKey(`${rootId}\0it's\\\u0001%`).key;
    await committer.append({ actorId: rootId, seq: 1, epoch: 1, kind: "changeset", payload: bytes("root") });
    await committer.append({ actorId: facet, leaseId: rootId, seq: 1, epoch: 1, kind: "changeset", payload: bytes("facet") });
    expect((await readHistory(pool, rootId, schema)).changesets.map((entry) => text(entry.payload))).toEqual(["root"]);
    const tree = await readTreeHistory(pool, rootId, schema);
    expect(tree.changesets.map((entry) => text(entry.payload))).toEqual(["root"]);
    const facets = tree.facets;
    expect([...facets.keys()]).toEqual([facet]);
    expect(text(facets.get(facet)!.changesets[0]!.payload)).toBe("facet");
  });
});
