import { afterEach, describe, expect, test } from "vitest";
import { clusterTables } from "../../src/cluster/pg/schema.ts";
import { Agent } from "../../src/index.ts";
import { postgresUnavailable } from "../support/postgres.ts";
import { waitFor } from "./pg/fixture.ts";
import { defineListAgent } from "./fixtures/list-agent.ts";
import { startTwoNodes, type TestNode } from "./support/test-node.ts";

/**
 * A node keeps per-agent entries (leases held, replications, compaction counts, owners remembered)
 * only while they mean something: once its agents leave it, or an owner looked up elsewhere is older
 * than a TTL, the entries go, so a long-running node serving many distinct agents does not grow.
 */

const ListAgent = defineListAgent(Agent);
/** The default TTL: a shorter one lets a heartbeat late on a loaded machine expire node a's membership mid-test. */
const TTL_MS = 3_000;
const AGENTS = 40;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 60_000);

function twoNodes(database: string): ReturnType<typeof startTwoNodes> {
  return startTwoNodes(database, { host: { agents: { ListAgent } }, ttlMs: TTL_MS, heartbeatMs: 300 }, cleanups);
}

/** Agent i written through `a` (claimed there), then read through `b` (forwarded to a). */
async function holdMany(a: TestNode, b: TestNode, from: number): Promise<void> {
  for (let i = from; i < from + AGENTS; i++) {
    expect((await fetch(`${a.url}/agents/list-agent/r${i}?value=v${i}`, { method: "POST" })).status).toBe(200);
    expect(await (await fetch(`${b.url}/agents/list-agent/r${i}`)).json()).toEqual([`v${i}`]);
  }
}

const empty = { owned: 0, replications: 0, shippedSinceSnapshot: 0, rememberedOwners: 0, facets: 0, facetRoots: 0, givenBack: 0 };

describe.skipIf(postgresUnavailable() !== undefined)("per-agent state on a node", () => {
  test("goes away when the node loses its agents (membership lost), and remembered owners after a TTL", async () => {
    const { a, b, pool } = await twoNodes("resident_lost");
    expect(a.node.residentCounts).toEqual(empty);
    await holdMany(a, b, 0);
    expect(a.node.residentCounts).toMatchObject({ owned: AGENTS, replications: AGENTS, shippedSinceSnapshot: AGENTS });
    // Those looked up within the last TTL (the earliest may have gone stale already on a slow machine).
    expect(b.node.residentCounts.owned).toBe(0);
    expect(b.node.residentCounts.rememberedOwners).toBeGreaterThan(0);

    // Node a is declared dead: its next heartbeat finds out, it gives every agent up and joins again.
    await pool.query(`UPDATE ${clusterTables().nodes} SET state = 'dead' WHERE node_id = 'a'`);
    await waitFor("node a giving its agents up", () => a.node.heldAgents === 0);
    expect(a.node.residentCounts).toEqual(empty);

    // The owners b looked up are not trusted past a TTL: they are not kept either.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS + 100));
    expect(b.node.residentCounts).toEqual(empty);

    // Held again (a fresh claim rebuilds each from the log), then handed over at a drain: nothing stays.
    await waitFor("node a a live member again", async () => (await fetch(`${a.url}/agents/list-agent/r0`)).status === 200, 15_000);
    await holdMany(a, b, AGENTS);
    expect(a.node.residentCounts.shippedSinceSnapshot).toBeGreaterThanOrEqual(AGENTS);
    await a.node.drain();
    expect(a.node.residentCounts).toEqual(empty);
  }, 60_000);
});
