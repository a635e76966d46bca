/**
 * A WebSocket handshake answers as the 101 response did: the subprotocol its Sec-WebSocket-Protocol
 * names (none without one, whatever the client offered) and its other headers, for a Durable Object's
 * socket and a worker's own. An agent's 101 names none, as the Agents SDK's does.
 */
import { WebSocket as RawClient } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, DurableObject, routeAgentRequest, WebSocketPair, type DurableObjectNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { handshake } from "../support/handshake.ts";

/** Answers an upgrade with the headers its query asks for: `proto`, and `cookie` as Set-Cookie (repeatable). */
function answer(request: Request): Response {
  const url = new URL(request.url);
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.addEventListener("message", (event) => server.send(`echo ${String((event as MessageEvent).data)}`));
  const headers = new Headers();
  const proto = url.searchParams.get("proto");
  if (proto !== null) headers.set("Sec-WebSocket-Protocol", proto);
  for (const cookie of url.searchParams.getAll("cookie")) headers.append("Set-Cookie", cookie);
  return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
}

class Room extends DurableObject {
  fetch(request: Request): Response {
    return answer(request);
  }
}

class Lobby extends Agent {}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<Harness> {
  harness = await startHarness(
    { Lobby },
    {
      durableObjects: { ROOMS: Room },
      fetch: async (request, env) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/copy")) {
          // Common Workers code: a copy of the object's 101 with a header of the worker's own.
          const res = await (env.ROOMS as DurableObjectNamespace<Room>).getByName("r").fetch(request);
          const copy = new Response(res.body, res);
          copy.headers.set("x-served-by", "edge");
          return copy;
        }
        if (path.startsWith("/room")) return (env.ROOMS as DurableObjectNamespace<Room>).getByName("r").fetch(request);
        if (path.startsWith("/worker")) return answer(request);
        return (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 });
      },
    },
  );
  return harness;
}

describe("the handshake of a 101 response", () => {
  it("gives the client the subprotocol the Durable Object chose", async () => {
    const { wsUrl } = await start();
    const client = new RawClient(`${wsUrl}/room?proto=b`, ["a", "b"]);
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    expect(client.protocol).toBe("b");
    client.send("hi");
    expect(await new Promise((resolve) => client.once("message", (data) => resolve(String(data))))).toBe("echo hi");
    client.close();
  });

  it("names no subprotocol when the response names none, whatever the client offered", async () => {
    const { url } = await start();
    const { status, headers } = await handshake(`${url}/room`, ["a", "b"]);
    expect(status).toBe(101);
    expect(headers["sec-websocket-protocol"]).toBeUndefined();
  });

  it("carries the response's other headers to the client, each Set-Cookie on its own", async () => {
    const { url } = await start();
    for (const path of ["/room", "/worker"]) {
      const { status, headers } = await handshake(`${url}${path}?proto=chat&cookie=a%3D1&cookie=b%3D2`, ["chat"]);
      expect(status).toBe(101);
      expect(headers["sec-websocket-protocol"]).toBe("chat");
      expect(headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    }
  });

  it("keeps the headers and subprotocol of a 101 the worker copied (new Response(res.body, res)), with the header it added", async () => {
    const { url } = await start();
    const { status, headers } = await handshake(`${url}/copy?proto=chat&cookie=a%3D1`, ["chat"]);
    expect(status).toBe(101);
    expect(headers["sec-websocket-protocol"]).toBe("chat");
    expect(headers["set-cookie"]).toEqual(["a=1"]);
    expect(headers["x-served-by"]).toBe("edge");
  });

  it("names no subprotocol for an agent's connection, as the Agents SDK's 101 names none", async () => {
    const { url } = await start();
    const { status, headers } = await handshake(`${url}/agents/lobby/l`, ["a", "b"]);
    expect(status).toBe(101);
    expect(headers["sec-websocket-protocol"]).toBeUndefined();
  });
});
