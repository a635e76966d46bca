/**
 * A node gives back the leases of agents nobody uses (src/cluster/idle-release.ts): without it a node
 * holds every agent it ever served until it stops, with what it keeps per lease. An agent is given back
 * only when nothing reached it for a whole period and nothing of it is in the host (instance,
 * sub-agent, WebSocket); its next event claims it again — on any node — from the log, data whole.
 */
import { statSync } from "node:fs";
import pg from "pg";
import WebSocket from "ws";
import { afterEach, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { clusterTables } from "../../src/cluster/pg/schema.ts";
import { placeFromIndex } from "../../src/host/place.ts";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { waitFor } from "./pg/fixture.ts";
import { defineListAgent } from "./fixtures/list-agent.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";
import { startTestNode, startTwoNodes, stopTestNode, type TestNode } from "./support/test-node.ts";

const ListAgent = defineListAgent(Agent);

/** Reminders fired. */
const fired: string[] = [];

class Note extends Agent {
  add(text: string): string[] {
    this.sql`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    this.sql`INSERT INTO notes (text) VALUES (${text})`;
    return this.notes();
  }
  notes(): string[] {
    this.sql`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    return this.sql<{ text: string }>`SELECT text FROM notes ORDER BY id`.map((row) => row.text);
  }
  async remindIn(seconds: number, text: string): Promise<void> {
    await this.schedule(seconds, "remind", text);
  }
  remind(text: string): void {
    this.add(`reminder: ${text}`);
    fired.push(text);
  }
}

class Desk extends Agent {
  async write(note: string, text: string): Promise<string[]> {
    return (await this.subAgent(Note, note)).add(text);
  }
  async read(note: string): Promise<string[]> {
    return (await this.subAgent(Note, note)).notes();
  }
  async remind(note: string, seconds: number, text: string): Promise<void> {
    await (await this.subAgent(Note, note)).remindIn(seconds, text);
  }
}

const AGENTS = 12;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 60_000);

/** By default the nodes look only when the test asks (releaseIdleAfterMs 0), so each period is the test's. */
function twoNodes(database: string, releaseIdleAfterMs = 0): ReturnType<typeof startTwoNodes> {
  return startTwoNodes(database, { host: { agents: { ListAgent, Desk, Note } }, ttlMs: 3_000, heartbeatMs: 300, releaseIdleAfterMs }, cleanups);
}

async function append(node: TestNode, name: string, value: string): Promise<string[]> {
  const response = await fetch(`${node.url}/agents/list-agent/${name}?value=${value}`, { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as string[];
}

async function list(node: TestNode, name: string): Promise<string[]> {
  const response = await fetch(`${node.url}/agents/list-agent/${name}`);
  expect(response.status).toBe(200);
  return (await response.json()) as string[];
}

async function owners(pool: pg.Pool, prefix: string): Promise<Map<string, string | null>> {
  const { rows } = await pool.query<{ actor_id: string; owner: string | null }>(`SELECT actor_id, owner FROM ${clusterTables().lease} WHERE actor_id LIKE $1`, [`${prefix}%`]);
  return new Map(rows.map((row) => [row.actor_id, row.owner]));
}

/** Hibernates every agent of the node's host (one whose reply just left may be idle a moment later). */
async function hibernateAll(node: TestNode, withinMs?: number): Promise<void> {
  await waitFor(
    "every agent out of memory",
    () => {
      node.host.hibernateIdleAgents();
      return node.host.stats.liveAgents === 0;
    },
    withinMs,
  );
}

const desk = (running: TestNode, name: string) => getAgentByName(running.host.env.Desk as AgentNamespace<Desk>, name);

describe.skipIf(postgresUnavailable() !== undefined)("leases of unused agents given back", () => {
  test("after a whole period unused and out of memory; the next request claims them again, on any node, data whole", async () => {
    const { a, b, pool } = await twoNodes("idle_release");
    for (let i = 0; i < AGENTS; i++) await append(a, `r${i}`, `v${i}`);
    expect(a.node.residentCounts).toMatchObject({ owned: AGENTS, replications: AGENTS });

    // Out of memory, but used in the period that the first look ends: kept.
    await hibernateAll(a);
    expect(await a.node.releaseIdleAgents()).toBe(0);
    expect(a.node.holds("list-agent", "r0")).toBe(true); // a status check is no use
    // Unused through the next one: given back, and nothing of them stays on the node.
    expect(await a.node.releaseIdleAgents()).toBe(AGENTS);
    expect(a.node.heldAgents).toBe(0);
    expect(a.node.residentCounts).toMatchObject({ owned: 0, replications: 0, shippedSinceSnapshot: 0 });
    const leases = await owners(pool, "list-agent/r");
    expect(leases.size).toBe(AGENTS);
    expect([...leases.values()].every((owner) => owner === null)).toBe(true);

    // Half come back through b (claimed there, rebuilt from the log), half through a.
    for (let i = 0; i < AGENTS; i++) expect(await append(i % 2 === 0 ? b : a, `r${i}`, `w${i}`)).toEqual([`v${i}`, `w${i}`]);
    const after = await owners(pool, "list-agent/r");
    for (let i = 0; i < AGENTS; i++) expect(after.get(`list-agent/r${i}`)).toBe(i % 2 === 0 ? "b" : "a");
    expect(a.node.heldAgents).toBe(AGENTS / 2);
  }, 60_000);

  test("keeps what is in use: an agent in memory, one reached since the last look, one with a WebSocket open while hibernated", async () => {
    const { a } = await twoNodes("idle_release_kept");
    for (const name of ["live", "reached", "socket", "idle"]) await append(a, name, "x");
    const ws = new WebSocket(`${a.url.replace("http", "ws")}/agents/list-agent/socket`);
    cleanups.push(async () => ws.close());
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await waitFor("the socket's agent to have it", () => a.host.stats.sockets === 1);
    await hibernateAll(a); // all four, the socket's too (its socket stays open)

    expect(await a.node.releaseIdleAgents()).toBe(0); // ends the period they were used in
    await list(a, "reached");
    await hibernateAll(a); // "reached" out of memory again
    await append(a, "live", "y"); // in memory from now on
    expect(await a.node.releaseIdleAgents()).toBe(1); // "idle" alone
    expect(a.node.holds("list-agent", "idle")).toBe(false);
    expect(await a.node.releaseIdleAgents()).toBe(1); // "reached", unused through a whole period now
    expect(a.node.holds("list-agent", "reached")).toBe(false);
    expect(a.node.holds("list-agent", "live")).toBe(true);
    expect(a.node.holds("list-agent", "socket")).toBe(true);
    await hibernateAll(a);
    expect(await a.node.releaseIdleAgents()).toBe(0); // "live" was in memory at the last look
    expect(await a.node.releaseIdleAgents()).toBe(1);
    expect(a.node.holds("list-agent", "socket")).toBe(true);

    // The socket's agent still answers on it (its lease never left).
    const answered = new Promise<string>((resolve) => ws.on("message", (data) => String(data).includes('"rpc"') && resolve(String(data))));
    ws.send(JSON.stringify({ type: "rpc", id: "1", method: "list", args: [] }));
    expect(await answered).toContain('"x"');
  }, 60_000);

  test("requests that arrive while leases are being given back are served, each agent once held", async () => {
    const { a, b, pool } = await twoNodes("idle_release_race");
    for (let i = 0; i < AGENTS; i++) await append(a, `q${i}`, "1");
    await hibernateAll(a);
    await a.node.releaseIdleAgents();
    const releasing = a.node.releaseIdleAgents();
    const answers = await Promise.all(Array.from({ length: AGENTS }, (_, i) => append(i % 2 === 0 ? a : b, `q${i}`, "2")));
    const released = await releasing;
    expect(released).toBeLessThanOrEqual(AGENTS);
    for (const answer of answers) expect(answer).toEqual(["1", "2"]);
    // Every lease has exactly one holder, and the data agrees wherever it is read.
    const leases = await owners(pool, "list-agent/q");
    for (let i = 0; i < AGENTS; i++) {
      const owner = leases.get(`list-agent/q${i}`);
      expect(owner === "a" || owner === "b").toBe(true);
      expect(await list(owner === "a" ? b : a, `q${i}`)).toEqual(["1", "2"]);
    }
  }, 60_000);

  test("a root with its sub-agents: given back once the tree is out of memory, rebuilt whole, and a sub-agent's schedule still fires", async () => {
    const { a, b, pool } = await twoNodes("idle_release_tree");
    expect(await (await desk(a, "ada")).write("n1", "hello")).toEqual(["hello"]);
    // Beyond the 5 s within which a run due keeps its agent open (src/schedule/task-store.ts).
    await (await desk(a, "ada")).remind("n1", 12, "later");
    expect(a.node.residentCounts.facetRoots).toBe(1);

    // The tree in memory: kept.
    expect(await a.node.releaseIdleAgents()).toBe(0);
    expect(await a.node.releaseIdleAgents()).toBe(0);
    const rootKey = `${a.host.storageSlugOf("Desk")}/ada`;
    await hibernateAll(a);
    expect(await a.node.releaseIdleAgents()).toBe(0); // it was in memory at the last look
    expect(await a.node.releaseIdleAgents()).toBe(1);
    expect(a.node.residentCounts).toMatchObject({ owned: 0, facets: 0, facetRoots: 0 });
    expect((await owners(pool, rootKey)).get(rootKey)).toBeNull();

    // The reminder is due with no owner: a node's scanner claims the tree and runs it.
    await waitFor("the reminder to fire after the lease was given back", () => fired.includes("later"), 30_000);
    const holder = (await owners(pool, rootKey)).get(rootKey);
    expect(holder === "a" || holder === "b").toBe(true);
    expect(await (await desk(holder === "a" ? b : a, "ada")).read("n1")).toEqual(["hello", "reminder: later"]);
  }, 60_000);
});

describe.skipIf(postgresUnavailable() !== undefined)("an agent due to wake", () => {
  test("before the next look is kept, so that its holder fires it on time; one due later is given back", async () => {
    const { a, pool } = await twoNodes("idle_release_due", 600_000); // the test's looks only, in a period of 10 minutes
    await (await desk(a, "soon")).remind("n", 120, "in two minutes");
    await (await desk(a, "later")).remind("n", 3_600, "in an hour");
    await hibernateAll(a);
    expect(await a.node.releaseIdleAgents()).toBe(0); // both were in memory at the last look
    expect(await a.node.releaseIdleAgents()).toBe(1);
    const slug = a.host.storageSlugOf("Desk");
    const leases = await owners(pool, `${slug}/`);
    // Given back, "soon" would fire on whichever node's scanner found it due, a scan and a grace late.
    expect(leases.get(`${slug}/soon`)).toBe("a");
    expect(leases.get(`${slug}/later`)).toBeNull();
    expect(a.node.holds(slug, "soon")).toBe(true);
  }, 60_000);
});

describe.skipIf(postgresUnavailable() !== undefined)("an agent's writes in a cluster", () => {
  test("leave no timer of the node's counted as the agent's: it can hibernate as soon as its events are done", async () => {
    const { a } = await twoNodes("idle_release_timers");
    // Root and sub-agent writes (appends, a tree's facet, the next wake), each answered once durable.
    for (let i = 0; i < 5; i++) await append(a, `t${i}`, "x");
    expect(await (await desk(a, "bea")).write("n", "hello")).toEqual(["hello"]);
    await (await desk(a, "bea")).remind("n", 3_600, "much later");
    // Postgres's client sets timers while sending them (statement timeouts, the pool's 30 s idle timer):
    // had they been the agents' own, these would stay in memory until those fire.
    await hibernateAll(a, 5_000);
  }, 60_000);
});

/** The inode of a list agent's file on `node`: a rebuild from the log renames a new file over it. */
const inodeOf = (node: TestNode, name: string): number => statSync(placeFromIndex(node.dir, "list-agent", name).file).ino;

/** Out of memory, then two looks: given back (the first look ends the period it was used in). */
async function giveBackAll(node: TestNode, count: number): Promise<void> {
  await hibernateAll(node);
  await node.node.releaseIdleAgents();
  expect(await node.node.releaseIdleAgents()).toBe(count);
}

describe.skipIf(postgresUnavailable() !== undefined)("an agent claimed again by the node that gave it back", () => {
  test("is served from its file as it is when nothing was appended to its log since; rebuilt when another node wrote meanwhile", async () => {
    const { a, b } = await twoNodes("idle_release_as_is");
    await append(a, "kept", "1");
    await append(a, "moved", "1");
    const [kept, moved] = [inodeOf(a, "kept"), inodeOf(a, "moved")];
    await giveBackAll(a, 2);
    expect(a.node.residentCounts.givenBack).toBe(2);

    // Nobody claimed it since: the same file serves (no history read, no rebuild), and its next commit goes on in the log.
    expect(await append(a, "kept", "2")).toEqual(["1", "2"]);
    expect(inodeOf(a, "kept")).toBe(kept);
    expect(a.node.residentCounts.givenBack).toBe(1);

    // Claimed and written by b, given back there: a's file is behind the log, so a rebuilds it.
    expect(await append(b, "moved", "2")).toEqual(["1", "2"]);
    await giveBackAll(b, 1);
    expect(await append(a, "moved", "3")).toEqual(["1", "2", "3"]);
    expect(inodeOf(a, "moved")).not.toBe(moved);

    // What a wrote after serving its file as it is reached the log: b rebuilds it whole.
    await giveBackAll(a, 2);
    expect(await append(b, "kept", "3")).toEqual(["1", "2", "3"]);
    expect(await append(b, "moved", "4")).toEqual(["1", "2", "3", "4"]);
  }, 60_000);

  test("with sub-agents, or after its membership was lost, is rebuilt from the log", async () => {
    const { a, pool } = await twoNodes("idle_release_as_is_not");
    expect(await (await desk(a, "d")).write("n", "1")).toEqual(["1"]);
    await append(a, "solo", "1");
    await giveBackAll(a, 2);
    expect(a.node.residentCounts.givenBack).toBe(1); // the desk, with a sub-agent, is not remembered
    expect(await (await desk(a, "d")).read("n")).toEqual(["1"]);

    // Node a is declared dead: it forgets what it gave back, and rebuilds the agent at its next claim.
    const solo = inodeOf(a, "solo");
    await pool.query(`UPDATE ${clusterTables().nodes} SET state = 'dead' WHERE node_id = 'a'`);
    await waitFor("node a forgetting what it gave back", () => a.node.residentCounts.givenBack === 0);
    await waitFor("node a a live member again", async () => (await fetch(`${a.url}/agents/list-agent/solo`)).status === 200, 15_000);
    expect(await list(a, "solo")).toEqual(["1"]);
    expect(inodeOf(a, "solo")).not.toBe(solo);
  }, 60_000);
});

describe.skipIf(postgresUnavailable() !== undefined)("the look every releaseIdleAfterMs", () => {
  test("gives an agent back on its own once it is out of memory, and the next request finds it whole", async () => {
    const { a, b, pool } = await twoNodes("idle_release_timer", 200);
    await append(a, "t", "1");
    await hibernateAll(a);
    // Until the release is in Postgres, a request through b goes to a, which waits for it and claims the agent again.
    await waitFor("node a giving the agent back", async () => a.node.heldAgents === 0 && (await owners(pool, "list-agent/t")).get("list-agent/t") === null);
    expect(await append(b, "t", "2")).toEqual(["1", "2"]);
    expect(b.node.holds("list-agent", "t")).toBe(true);
  }, 60_000);

  test("a period no timer can take is refused before the node joins", async () => {
    const url = await (await sharedPostgres()).database("idle_release_option");
    for (const releaseIdleAfterMs of [2 ** 31, -1, Number.NaN]) {
      await expect(ClusterNode.start({ connectionString: url, nodeId: "x", advertise: "http://127.0.0.1:1", releaseIdleAfterMs }, "/nonexistent")).rejects.toThrow(/releaseIdleAfterMs must be a number of milliseconds from 0 \(never\) to 2147483647/);
    }
    const pool = new pg.Pool({ connectionString: url });
    cleanups.push(() => pool.end());
    const { rows } = await pool.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [clusterTables().nodes]);
    expect(rows[0]!.exists).toBe(false); // not even the tables were made
  });
});

describe.skipIf(postgresUnavailable() !== undefined)("a give-back Postgres does not answer", () => {
  test("holds the agent again: it is served here, and its lease still names the node", async () => {
    const postgres = await sharedPostgres();
    const url = await postgres.database("idle_release_fault");
    const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: postgres.port } });
    cleanups.push(() => proxy.close());
    const options = { host: { agents: { ListAgent } }, ttlMs: 3_000, heartbeatMs: 300, releaseIdleAfterMs: 0 };
    const a = await startTestNode(proxy.url(url), "a", options);
    cleanups.push(() => stopTestNode(a));
    const b = await startTestNode(url, "b", options);
    cleanups.push(() => stopTestNode(b));
    await append(a, "f", "1");
    await hibernateAll(a);
    expect(await a.node.releaseIdleAgents()).toBe(0);

    // Node a's connections to Postgres reset while it gives the agent back (a short cut: its membership lives on).
    await proxy.mode("reset");
    const released = await a.node.releaseIdleAgents();
    await proxy.mode("pass");
    expect(released).toBe(0);
    expect(a.node.holds("list-agent", "f")).toBe(true);
    // Reached through either node, it is served by a, its data whole.
    expect(await append(b, "f", "2")).toEqual(["1", "2"]);
    expect(await append(a, "f", "3")).toEqual(["1", "2", "3"]);
    const pool = new pg.Pool({ connectionString: url });
    cleanups.push(() => pool.end());
    expect((await owners(pool, "list-agent/f")).get("list-agent/f")).toBe("a");
  }, 60_000);
});
