/**
 * routeAgentRequest serves plain Durable Object bindings as the Agents SDK's router does: a project
 * with partyserver-style servers or its own objects next to its agents routes them all through one call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, DurableObject, routeAgentRequest, WebSocketPair, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { upgradeResponse } from "../durable-object/helpers.ts";
import { loggedErrors } from "../support/logged-errors.ts";

class Chat extends Agent {
  onRequest(): Response {
    return new Response("agent");
  }
}

class Whiteboard extends DurableObject {
  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") === "websocket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      return upgradeResponse(client);
    }
    const seen = (await this.ctx.storage.get<number>("seen")) ?? 0;
    await this.ctx.storage.put("seen", seen + 1);
    return Response.json({ name: this.ctx.id.name, seen: seen + 1, path: new URL(request.url).pathname, user: request.headers.get("x-user") });
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    ws.send(`board:${String(message)}`);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<Harness> {
  return startHarness(
    { Chat },
    {
      durableObjects: { Whiteboard },
      fetch: async (request, env) =>
        (await routeAgentRequest(request, env, {
          onBeforeRequest: (req) => {
            if (req.headers.get("x-user") === "mallory") return new Response("no", { status: 403 });
            const next = new Request(req);
            next.headers.set("x-user", req.headers.get("x-user") ?? "anonymous");
            return next;
          },
        })) ?? new Response("not mine", { status: 404 }),
    },
  );
}

describe("routeAgentRequest and plain Durable Objects", () => {
  it("forwards /agents/{binding}/{name}/… to the object's fetch, through onBeforeRequest", async () => {
    harness = await start();
    expect(await (await fetch(`${harness.url}/agents/chat/a`)).text()).toBe("agent");
    const first = await fetch(`${harness.url}/agents/whiteboard/room-1/draw`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ name: "room-1", seen: 1, path: "/agents/whiteboard/room-1/draw", user: "anonymous" });
    expect(await (await fetch(`${harness.url}/agents/whiteboard/room-1`)).json()).toMatchObject({ seen: 2 });
    expect((await fetch(`${harness.url}/agents/whiteboard/room-1`, { headers: { "x-user": "mallory" } })).status).toBe(403);
    const errors = loggedErrors();
    const unknown = await fetch(`${harness.url}/agents/nothing/x`);
    errors.restore();
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: "Invalid request: no agent class is served at /agents/nothing/" });
    expect(errors.text()).toContain("(served: chat, whiteboard)");
    expect((await fetch(`${harness.url}/agents/whiteboard/%ED%A0%80`)).status).toBe(400); // not valid percent-encoding
  });

  it("hands a WebSocket upgrade to the object", async () => {
    harness = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/whiteboard/room-2`);
    socket.send("hello");
    expect(await socket.waitFor((frame) => frame === "board:hello")).toBe("board:hello");
    socket.close();
  });
});
