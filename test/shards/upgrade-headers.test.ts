/**
 * A worker that copies an agent's upgrade response and adds headers gets them into the 101 the client
 * sees, on two threads as on one: whether the connection moved to the agent's thread or stayed where
 * it arrived (an absolute-form target, which no connection routing reads), and its thread answered
 * with the agent's thread's response relayed.
 */
import { request, type IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, routeAgentRequest, type Connection } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";
import { closeTwoShards, nameOn, startTwoShards, type ShardNode } from "./support/two-shards.ts";

class Lobby extends Agent<{ HOST: string }> {
  onConnect(connection: Connection): void {
    connection.send(`hello ${this.name} from ${this.env.HOST}`);
  }
}

/** As common Workers code adds headers to the router's 101: `?copy=list` rebuilds it with more headers, `?copy=set` sets one on a copy. */
async function worker(request: Request, env: Record<string, unknown>): Promise<Response> {
  const res = await routeAgentRequest(request, env);
  if (!res) return new Response("not found", { status: 404 });
  if (new URL(request.url).searchParams.get("copy") === "set") {
    const copy = new Response(res.body, res);
    copy.headers.set("x-extra", "set");
    return copy;
  }
  const webSocket = (res as Response & { webSocket?: unknown }).webSocket;
  return new Response(res.body, { status: res.status, headers: new Headers([...res.headers, ["x-extra", "list"]]), webSocket } as ResponseInit);
}

interface Upgraded {
  status: number;
  headers: IncomingHttpHeaders;
  /** The agent's greeting, the first text frame that says hello. */
  hello: string;
  /** The client's connection, open. */
  socket: Duplex;
}

/** Upgrades `GET target` on `server` (an origin-form or absolute-form target) and reads frames until the agent's hello; the connection stays open. */
function upgrade(server: string, target: string): Promise<Upgraded> {
  const { hostname, port } = new URL(server);
  return new Promise((resolve, reject) => {
    const sent = request({
      host: hostname,
      port,
      path: target,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
    });
    sent.once("upgrade", (response, socket: Duplex, head: Buffer) => {
      let received = head;
      const read = (): void => {
        const hello = textFrames(received).find((text) => text.startsWith("hello"));
        if (hello === undefined) return;
        socket.removeAllListeners("data");
        resolve({ status: response.statusCode ?? 0, headers: response.headers, hello, socket });
      };
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        read();
      });
      socket.once("error", reject);
      read();
    });
    sent.once("response", (response) => {
      response.resume();
      reject(new Error(`No upgrade: ${response.statusCode}`));
    });
    sent.once("error", reject);
    sent.end();
  });
}

/** The complete text frames in what a server sent (unmasked, unfragmented: as the agent's socket sends them). */
function textFrames(bytes: Buffer): string[] {
  const texts: string[] = [];
  for (let at = 0; at + 2 <= bytes.length; ) {
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) break;
    if ((bytes[at]! & 0x0f) === 1) texts.push(bytes.toString("utf8", start, start + length));
    at = start + length;
  }
  return texts;
}

describe("a worker's headers on an agent's 101, with two threads", () => {
  const dir = tempDir();
  let nodes: [ShardNode, ShardNode];
  beforeAll(async () => {
    nodes = await startTwoShards(dir.path, { agents: { Lobby } }, worker);
  });
  afterAll(async () => {
    await closeTwoShards(nodes);
    dir.remove();
  });

  for (const reached of [0, 1]) {
    for (const owner of [0, 1]) {
      for (const form of ["origin-form", "absolute-form"] as const) {
        it(`reach the client through thread ${reached} for an agent on thread ${owner} (${form} target)`, async () => {
          const server = nodes[reached]!.server.url;
          const open: Duplex[] = [];
          try {
            for (const copy of ["list", "set"]) {
              const name = nameOn("lobby", owner, `${form}-${copy}-${reached}-`);
              const path = `/agents/lobby/${name}?copy=${copy}`;
              const { status, headers, hello, socket } = await upgrade(server, form === "origin-form" ? path : `${server}${path}`);
              open.push(socket);
              expect({ status, extra: headers["x-extra"], marker: headers["x-hearth-upgrade"], hello }, copy).toEqual({
                status: 101,
                extra: copy,
                marker: undefined,
                hello: `hello ${name} from shard-${owner}`,
              });
            }
            // An absolute-form target for the other thread's agent is answered where it arrived, its socket relayed.
            expect(nodes[reached]!.shard.connections.relayed).toBe(form === "absolute-form" && reached !== owner ? 2 : 0);
          } finally {
            for (const socket of open) socket.destroy();
          }
          // The next case counts from none relayed.
          await expect.poll(() => nodes[reached]!.shard.connections.relayed + nodes[1 - reached]!.shard.connections.relayed).toBe(0);
        });
      }
    }
  }
});
