/**
 * The response `routeAgentRequest` and `stub.fetch(upgradeRequest)` give for an agent's WebSocket
 * upgrade looks like the Workers runtime's 101: status 101, `ok` false, a `webSocket`. So worker code
 * written for Cloudflare works as it is: `if (res.status === 101) return res`, a copy that adds a
 * header (`new Response(res.body, res)`), or a new 101 with `webSocket: res.webSocket`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, routeAgentRequest, type AgentNamespace, type Connection, type WorkerFetch } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { handshake } from "../support/handshake.ts";

class Lobby extends Agent {
  onConnect(connection: Connection): void {
    connection.send(JSON.stringify({ type: "hello", name: this.name }));
  }
}

/** What the worker saw of the response, by request path. */
const seen = new Map<string, { status: number; ok: boolean; hasWebSocket: boolean }>();

/** Answers `/agents/lobby/{name}?mode=…` as common Workers code does with the router's response. */
const worker: WorkerFetch = async (request, env) => {
  const url = new URL(request.url);
  const mode = url.searchParams.get("mode");
  const res =
    mode === "stub"
      ? await (await getAgentByName(env.Lobby as AgentNamespace<Lobby>, url.pathname.split("/")[3]!)).fetch(request)
      : await routeAgentRequest(request, env);
  if (!res) return new Response("not found", { status: 404 });
  const webSocket = (res as Response & { webSocket?: unknown }).webSocket;
  seen.set(url.pathname, { status: res.status, ok: res.ok, hasWebSocket: webSocket !== null && webSocket !== undefined });
  if (mode === "status" || mode === "stub") {
    if (res.status === 101) return res;
    return new Response("not an upgrade", { status: 500 });
  }
  if (mode === "copy") {
    const copy = new Response(res.body, res);
    copy.headers.set("x-served-by", "edge");
    return copy;
  }
  if (mode === "rebuild") {
    const headers = new Headers(res.headers);
    headers.set("x-served-by", "edge");
    return new Response(null, { status: 101, webSocket: webSocket, headers } as ResponseInit);
  }
  return res;
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  seen.clear();
});

describe("an agent's upgrade response", () => {
  it.each(["status", "stub", "copy", "rebuild"])("reports 101 with a webSocket, and still upgrades when the worker does %s with it", async (mode) => {
    harness = await startHarness({ Lobby }, { fetch: worker });
    const name = `room-${mode}`;
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/lobby/${name}?mode=${mode}`);
    expect(await socket.waitForType("hello")).toEqual({ type: "hello", name });
    socket.close();
    expect(seen.get(`/agents/lobby/${name}`)).toEqual({ status: 101, ok: false, hasWebSocket: true });
  });

  it("sends the headers the worker put on its copy with the handshake, and not Hearth's marker", async () => {
    harness = await startHarness({ Lobby }, { fetch: worker });
    for (const mode of ["copy", "rebuild"]) {
      const { status, headers } = await handshake(`${harness.url}/agents/lobby/h?mode=${mode}`);
      expect(status, mode).toBe(101);
      expect(headers["x-served-by"], mode).toBe("edge");
      expect(headers["x-hearth-upgrade"], mode).toBeUndefined();
      expect(headers["sec-websocket-protocol"], mode).toBeUndefined();
    }
  });

  it("has a webSocket that stands for the agent's socket and says so when used as one", async () => {
    let thrown: unknown;
    harness = await startHarness(
      { Lobby },
      {
        fetch: async (request, env) => {
          const res = (await routeAgentRequest(request, env))!;
          try {
            (res as Response & { webSocket: { accept(): void } }).webSocket.accept();
          } catch (error) {
            thrown = error;
          }
          return res;
        },
      },
    );
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/lobby/x`);
    expect(await socket.waitForType("hello")).toEqual({ type: "hello", name: "x" });
    socket.close();
    expect(thrown).toBeInstanceOf(TypeError);
    expect(String(thrown)).toMatch(/agent's socket is connected to the client when the worker returns this response/);
  });
});
