import type pg from "pg";
import { describe, expect, test } from "vitest";
import { Leases } from "../../../src/cluster/pg/leases.ts";
import { Membership } from "../../../src/cluster/pg/membership.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "./fixture.ts";

/** Relaxed timings: these tests declare nodes dead themselves, and a loaded machine must not do it for them. */
const TIMINGS = { ttlMs: 10_000, heartbeatMs: 500, reapMs: 200, marginMs: 1_000 };

describe.skipIf(postgresUnavailable() !== undefined)("leases", () => {
  const pg = pgFixture("leases");

  async function node(pool: pg.Pool, schema: string, nodeId: string): Promise<{ membership: Membership; leases: Leases }> {
    const membership = pg.track(await Membership.join({ pool, schema, nodeId, address: `http://${nodeId}`, ...TIMINGS }));
    return { membership, leases: new Leases({ pool, membership, schema }) };
  }

  async function markDead(pool: pg.Pool, schema: string, nodeId: string): Promise<void> {
    await pool.query(`UPDATE ${clusterTables(schema).nodes} SET state = 'dead' WHERE node_id = $1`, [nodeId]);
  }

  test("claim, lookup and release", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    expect(await a.leases.lookup("counter/x")).toEqual({ owner: undefined, address: undefined, epoch: 0, alive: false, ownerState: undefined });
    expect(await a.leases.claim("counter/x")).toEqual({ claimed: true, epoch: 1, head: 1 });
    expect(await a.leases.lookup("counter/x")).toEqual({ owner: "a", address: "http://a", epoch: 1, alive: true, ownerState: "alive" });
    expect(await a.leases.release("counter/x", 0)).toBe(false); // not the epoch it holds
    expect(await a.leases.release("counter/x", 1)).toBe(true);
    expect(await a.leases.lookup("counter/x")).toEqual({ owner: undefined, address: undefined, epoch: 2, alive: false, ownerState: undefined });
    expect(await a.leases.release("counter/x", 2)).toBe(false); // no longer held
    // Claimed again after a release: a new epoch, the marker after the first one.
    expect(await a.leases.claim("counter/x")).toEqual({ claimed: true, epoch: 3, head: 2 });
  });

  test("a second node cannot claim while the owner is alive or draining, and can once it is dead", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    const b = await node(pool, schema, "b");
    await a.leases.claim("x");
    expect(await b.leases.claim("x")).toEqual({ claimed: false, owner: "a", address: "http://a" });
    await a.membership.drain();
    expect(await b.leases.claim("x")).toEqual({ claimed: false, owner: "a", address: "http://a" });
    expect((await b.leases.lookup("x")).ownerState).toBe("draining");
    await a.membership.close();
    await markDead(pool, schema, "a");
    expect(await b.leases.lookup("x")).toMatchObject({ owner: "a", alive: false, ownerState: "dead" });
    expect(await b.leases.claim("x")).toEqual({ claimed: true, epoch: 2, head: 2 });
    expect(await b.leases.countByOwner()).toEqual(new Map([["b", 1]]));
  });

  test("a node that left gives its actors up at once", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    const b = await node(pool, schema, "b");
    await a.leases.claim("x");
    await a.membership.leave();
    expect(await b.leases.claim("x")).toMatchObject({ claimed: true, epoch: 2 });
  });

  test("a restarted node (same id, new incarnation) claims its own actors again under a new epoch", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const first = await node(pool, schema, "a");
    const other = await node(pool, schema, "b");
    await first.leases.claim("x");
    await first.membership.close(); // crashed: the row still says alive
    const again = await node(pool, schema, "a");
    expect(again.membership.incarnation).toBe(2);
    expect(await other.leases.lookup("x")).toMatchObject({ owner: "a", alive: false, ownerState: "alive" });
    expect(await again.leases.claim("x")).toEqual({ claimed: true, epoch: 2, head: 2 });
    expect(await other.leases.claim("x")).toEqual({ claimed: false, owner: "a", address: "http://a" });
  });

  test("releaseAll hands over every actor of this node; countByOwner counts live holders", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    const b = await node(pool, schema, "b");
    for (const id of ["x", "y", "z"]) await a.leases.claim(id);
    await b.leases.claim("w");
    expect(await a.leases.countByOwner()).toEqual(new Map([["a", 3], ["b", 1]]));
    await a.membership.drain();
    expect(await a.leases.releaseAll()).toEqual(["x", "y", "z"]);
    expect(await b.leases.claim("y")).toMatchObject({ claimed: true, epoch: 3 });
    expect(await a.leases.countByOwner()).toEqual(new Map([["b", 2]]));
  });

  test("transfer gives a held service to a live node that keeps its kind, which then claims it; keepers names live holders and those nodes", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    const b = await node(pool, schema, "b");
    const c = await node(pool, schema, "c");
    expect(await a.leases.claim("~svc/p0")).toEqual({ claimed: true, epoch: 1, head: 1 });
    await a.leases.claim("~svc/p1");
    // Nobody keeps ~svc yet: no node to prefer, and nobody to hand it to.
    expect(await a.leases.keepers("~svc", ["~svc/p0", "~svc/p1", "~svc/p2"])).toEqual({ holders: new Map([["~svc/p0", "a"], ["~svc/p1", "a"]]), nodes: [] });
    expect(await a.leases.transfer("~svc/p0", 1, "b")).toBe(false);
    for (const keeper of [a, b, c]) await keeper.leases.keep("~svc");
    await b.leases.keep("~other");
    expect((await a.leases.keepers("~svc", ["~svc/p0"])).nodes).toEqual(["a", "b", "c"]);
    expect((await a.leases.keepers("~other", ["~svc/p0"])).nodes).toEqual(["b"]);
    expect(await b.leases.transfer("~svc/p0", 1, "c")).toBe(false); // b does not hold it
    expect(await a.leases.transfer("~svc/p0", 2, "b")).toBe(false); // not the epoch a holds
    expect(await a.leases.transfer("~svc/p0", 1, "b")).toBe(true);
    expect(await a.leases.lookup("~svc/p0")).toMatchObject({ owner: "b", epoch: 2, alive: true });
    expect(await c.leases.claim("~svc/p0")).toMatchObject({ claimed: false, owner: "b" }); // nobody else can step in
    expect(await b.leases.claim("~svc/p0")).toEqual({ claimed: true, epoch: 3, head: 2 });
    // A node that is not alive gets nothing: the lease stays with its holder, and the node is no keeper.
    await markDead(pool, schema, "c");
    expect(await a.leases.transfer("~svc/p1", 1, "c")).toBe(false);
    expect(await a.leases.transfer("~svc/p1", 1, "nobody")).toBe(false);
    expect(await a.leases.lookup("~svc/p1")).toMatchObject({ owner: "a", epoch: 1, alive: true });
    expect(await a.leases.keepers("~svc", ["~svc/p0", "~svc/p1"])).toEqual({ holders: new Map([["~svc/p0", "b"], ["~svc/p1", "a"]]), nodes: ["a", "b"] });
    // A node that joined again keeps nothing until it says so with its new incarnation.
    const again = await node(pool, schema, "c");
    expect((await a.leases.keepers("~svc", [])).nodes).toEqual(["a", "b"]);
    await again.leases.keep("~svc");
    expect((await a.leases.keepers("~svc", [])).nodes).toEqual(["a", "b", "c"]);
  });

  test("two nodes claiming a new actor at once: exactly one wins", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    const b = await node(pool, schema, "b");
    const results = await Promise.all([a.leases.claim("fresh"), b.leases.claim("fresh")]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(results.find((r) => r.claimed)).toEqual({ claimed: true, epoch: 1, head: 1 });
  });

  test("a node whose membership is lost cannot claim", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    await a.membership.close();
    await expect(a.leases.claim("x")).rejects.toThrow("node a cannot claim x: its membership lease is lost or expired");
    const b = await node(pool, schema, "b");
    await markDead(pool, schema, "b"); // b's own clock still says valid; Postgres says otherwise
    await expect(b.leases.claim("x")).rejects.toThrow("node b cannot claim x: its membership row is dead, not alive");
    expect(await b.leases.lookup("x")).toMatchObject({ owner: undefined, epoch: 0 });
  });

  test("actor ids are checked before any SQL", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await node(pool, schema, "a");
    await expect(a.leases.claim("")).rejects.toThrow("actor id must be a string of 1–1024 characters without NUL, got 0 characters");
    await expect(a.leases.lookup("x".repeat(1_025))).rejects.toThrow("actor id must be a string of 1–1024 characters without NUL, got 1025 characters");
  });
});
