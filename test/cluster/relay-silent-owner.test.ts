import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { WebSocket } from "ws";
import { afterAll, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { clusterTables } from "../../src/cluster/pg/schema.ts";
import type { HearthServer } from "../../src/gateway/serve.ts";
import { Agent, Host, routeAgentRequest, serve, type Connection } from "../../src/index.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { freePort } from "../support/ports.ts";
import { waitFor } from "./pg/fixture.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";

/**
 * A client socket relayed by one node to the agent's owner, whose machine then drops off the network:
 * nothing resets the relay's connection, so only the relay itself can notice. The client must be told
 * to reconnect (1012), and reconnecting reaches the agent on its new owner.
 */

class EchoAgent extends Agent {
  override async onRequest(): Promise<Response> {
    return new Response("ok");
  }
  override onMessage(connection: Connection, message: string | ArrayBuffer): void {
    if (typeof message === "string" && message.startsWith("echo")) connection.send(message);
  }
}

interface RunningNode {
  node: ClusterNode;
  server: HearthServer;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 60_000);

/** `advertise`: the port other nodes reach this one at, given the port it listens on. */
async function startNode(connectionString: string, id: string, advertise: (port: number) => Promise<number> = async (port) => port): Promise<RunningNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-relay-silent-${id}-`));
  const port = await freePort();
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: `http://127.0.0.1:${await advertise(port)}`, ttlMs: 1_500, heartbeatMs: 300 }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ dataDir: dir, agents: { EchoAgent }, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const fetch = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 }));
  const server = await serve({ host, port, fetch });
  cleanups.push(async () => {
    await server.close().catch(() => undefined);
    await host.close().catch(() => undefined);
    await node.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return { node, server };
}

/** A socket to `url` that records the echoes it receives and how it was closed. */
async function open(url: string): Promise<{ ws: WebSocket; echoes: string[]; closed: { code?: number } }> {
  const ws = new WebSocket(url);
  const echoes: string[] = [];
  const closed: { code?: number } = {};
  ws.on("message", (data) => {
    const text = String(data);
    if (text.startsWith("echo")) echoes.push(text);
  });
  ws.on("close", (code) => (closed.code = code));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  cleanups.push(async () => ws.terminate());
  return { ws, echoes, closed };
}

/**
 * Nodes a and b on `database`, agent echo-agent/x served on a, a client socket relayed to it through b
 * (one echo answered); `silence()` drops a off the network: its links to b and to Postgres go silent,
 * nothing is reset.
 */
async function relayedToOwnerOnA(database: string) {
  const postgres = await sharedPostgres();
  const url = await postgres.database(database);
  const pgProxy = await startFaultProxy({ target: { host: "127.0.0.1", port: postgres.port } });
  cleanups.push(() => pgProxy.close());
  let link: FaultProxy | undefined;
  const a = await startNode(pgProxy.url(url), "a", async (port) => {
    link = await startFaultProxy({ target: { host: "127.0.0.1", port } });
    return link.port;
  });
  // Closed before the nodes on the way out (cleanups run last first), so a leaves at once.
  cleanups.push(async () => {
    await link?.close();
    await pgProxy.close();
  });
  const b = await startNode(url, "b");
  expect((await fetch(`${a.server.url}/agents/echo-agent/x`)).status).toBe(200);
  expect(a.node.holds("echo-agent", "x")).toBe(true);
  const relayed = await open(`${b.server.url.replace("http", "ws")}/agents/echo-agent/x`);
  relayed.ws.send("echo-1");
  await waitFor("the first echo", () => relayed.echoes.length === 1);
  const silence = async () => {
    await link!.mode("blackhole");
    await pgProxy.mode("blackhole");
  };
  return { url, b, relayed, silence };
}

describe.skipIf(postgresUnavailable() !== undefined)("a relayed socket whose owner goes silent", () => {
  test("is closed with 1012 once the owner no longer holds the agent, and reconnecting reaches the new owner", async () => {
    const { b, relayed, silence } = await relayedToOwnerOnA("relay_silent_owner");
    await silence();
    relayed.ws.send("echo-2");
    await waitFor("the relayed socket closed", () => relayed.closed.code !== undefined, 20_000);
    expect(relayed.closed.code).toBe(1012);
    expect(relayed.echoes).toEqual(["echo-1"]);

    // Reconnecting through b reaches the agent on its new owner.
    const again = await open(`${b.server.url.replace("http", "ws")}/agents/echo-agent/x`);
    again.ws.send("echo-3");
    await waitFor("the echo from the new owner", () => again.echoes.length === 1);
    expect(again.echoes).toEqual(["echo-3"]);
    expect(b.node.holds("echo-agent", "x")).toBe(true);
  }, 60_000);

  test("its check of the owner only reads the lease: the relaying node does not claim the agent", async () => {
    const { url, b, relayed, silence } = await relayedToOwnerOnA("relay_silent_read_only");
    await silence();
    await waitFor("the relayed socket closed", () => relayed.closed.code !== undefined, 20_000);
    expect(relayed.closed.code).toBe(1012);
    // The relay found that no live node holds the agent; taking it is left to the next connection.
    expect(b.node.heldAgents).toBe(0);
    const pool = new pg.Pool({ connectionString: url });
    cleanups.push(() => pool.end());
    const { rows } = await pool.query<{ owner: string | null }>(`SELECT owner FROM ${clusterTables().lease} WHERE actor_id = 'echo-agent/x'`);
    expect(rows).toEqual([{ owner: "a" }]);
  }, 60_000);
});
