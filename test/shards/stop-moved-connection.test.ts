/**
 * A stop with several threads answers the requests in progress on connections one thread's server
 * moved to another's (connection-router.ts): the server that took such a connection up waits for it
 * before it counts as stopped, so the threads' links (and hosts) are still there to answer it.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { agentsOnlyFetch } from "../../src/gateway/serve.ts";
import { tempDir } from "../support/harness.ts";
import { closeTwoShards, nameOn, startTwoShards, type ShardNode } from "./support/two-shards.ts";

/** Released by the test: a request with `?hold` waits for it. */
let release: () => void = () => {};
let started: () => void = () => {};

class Slow extends Agent {
  override async onRequest(request: Request): Promise<Response> {
    if (new URL(request.url).searchParams.has("hold")) {
      started();
      await new Promise<void>((resolve) => (release = resolve));
    }
    return new Response(`answered ${this.name}`);
  }
}

/** A GET on `agent`'s one connection: its status and body, or the socket's error code. */
function get(url: string, agent: HttpAgent): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
      res.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

/** The error code of a connection to `port` on loopback (undefined when it connects). */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

describe("a stop with two threads", () => {
  let dir: ReturnType<typeof tempDir>;
  let nodes: [ShardNode, ShardNode];
  beforeEach(async () => {
    dir = tempDir();
    nodes = await startTwoShards(dir.path, { agents: { Slow } }, agentsOnlyFetch);
  });
  afterEach(async () => {
    await closeTwoShards(nodes);
    dir.remove();
  });

  it("answers a request in progress on a connection moved to the other thread, handed back to the first", async () => {
    const there = nameOn("slow", 1);
    const here = nameOn("slow", 0);
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    // Shard 0 accepts the connection; its first request is for shard 1's agent, so it moves there.
    expect(await get(`${nodes[0].server.url}/agents/slow/${there}`, agent)).toBe(`200 answered ${there}`);
    expect(nodes[0].shard.connections.moved).toBe(1);
    // Its next request is for shard 0's agent: shard 1's server hands it back over the link.
    const inProgress = new Promise<void>((resolve) => (started = resolve));
    const answer = get(`${nodes[0].server.url}/agents/slow/${here}?hold`, agent);
    await inProgress;
    // As threads.ts stops: every server closes, then the threads' links close (after their hosts,
    // which play no part here).
    const events: string[] = [];
    const stopped = Promise.all(nodes.map((node) => node.server.close({ graceMs: 30_000 }))).then(() => {
      events.push("servers closed");
      nodes[1].shard.close();
    });
    // Both listeners are closed (a connection is refused) before the request may go on.
    for (const node of nodes) expect(await connectError(node.server.port)).toBe("ECONNREFUSED");
    release();
    // Before, shard 1's server counted as closed at once (it had accepted no connection itself), its
    // links closed under the request, and the client got a 500 ("The link is closed").
    expect(await answer).toBe(`200 answered ${here}`);
    events.push("answered");
    await stopped;
    expect(events).toEqual(["answered", "servers closed"]);
    agent.destroy();
  });
});
