import { afterEach, describe, expect, it } from "vitest";
import { Agent, routeAgentRequest, type Connection, type ConnectionContext, type WorkerFetch } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";

class ChatRoom extends Agent {
  onRequest(request: Request) {
    return Response.json({
      name: this.name,
      path: new URL(request.url).pathname,
      user: request.headers.get("x-user"),
    });
  }
  onConnect(conn: Connection, ctx: ConnectionContext) {
    conn.send(JSON.stringify({ type: "hello", user: ctx.request.headers.get("x-user") }));
  }
}

class Broken extends Agent {
  onRequest() {
    return "not a response" as unknown as Response;
  }
}

const worker: WorkerFetch = async (request, env) =>
  (await routeAgentRequest(request, env, {
    prefix: "api/agents",
    cors: true,
    onBeforeConnect: (req) => {
      const token = new URL(req.url).searchParams.get("token");
      if (token !== "secret") return new Response("Unauthorized: pass ?token=", { status: 401 });
      const headers = new Headers(req.headers);
      headers.set("x-user", "ada");
      return new Request(req, { headers });
    },
    onBeforeRequest: (req) => {
      if (req.headers.get("authorization") !== "Bearer secret") return new Response("Unauthorized", { status: 401 });
      const headers = new Headers(req.headers);
      headers.set("x-user", "grace");
      return new Request(req, { headers });
    },
  })) ?? new Response("worker 404", { status: 404 });

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const auth = { headers: { authorization: "Bearer secret" } };

describe("routeAgentRequest", () => {
  it("routes /{prefix}/{kebab-class}/{name}/… with decoded unicode and slashes in the name", async () => {
    harness = await startHarness({ ChatRoom }, { fetch: worker });
    const name = "café/room 1";
    const res = await fetch(`${harness.url}/api/agents/chat-room/${encodeURIComponent(name)}/sub/path`, auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name, path: `/api/agents/chat-room/${encodeURIComponent(name)}/sub/path`, user: "grace" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("answers CORS preflights (200, as the Agents SDK) and lets the worker handle other paths", async () => {
    harness = await startHarness({ ChatRoom }, { fetch: worker });
    const preflight = await fetch(`${harness.url}/api/agents/chat-room/x`, { method: "OPTIONS" });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    // A preflight for a class nobody serves is refused, as partyserver refuses it (the class is checked first).
    const errors = loggedErrors();
    const unknown = await fetch(`${harness.url}/api/agents/no-such-class/x`, { method: "OPTIONS" });
    errors.restore();
    expect(unknown.status).toBe(400);
    const other = await fetch(`${harness.url}/elsewhere`);
    expect(other.status).toBe(404);
    expect(await other.text()).toBe("worker 404");
    // A path under the prefix without an instance name is the worker's own (e.g. a list page).
    for (const path of ["/api/agents/chat-room", "/api/agents/chat-room/", "/api/agents/"]) {
      const own = await fetch(`${harness.url}${path}`, auth);
      expect(await own.text(), path).toBe("worker 404");
    }
  });

  it.each<[string, HeadersInit]>([
    ["a Headers object", new Headers({ "Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true" })],
    ["[name, value] pairs", [["Access-Control-Allow-Origin", "https://app.example"], ["Access-Control-Allow-Credentials", "true"]]],
    ["a record", { "Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true" }],
  ])("sets the CORS headers given as %s (the Agents SDK's cors: HeadersInit)", async (_label, cors) => {
    const headersWorker: WorkerFetch = async (request, env) =>
      (await routeAgentRequest(request, env, { cors })) ?? new Response("worker 404", { status: 404 });
    harness = await startHarness({ ChatRoom }, { fetch: headersWorker });
    const origin = { origin: "https://app.example" };
    const answered = await fetch(`${harness.url}/agents/chat-room/x`, { headers: origin });
    const preflight = await fetch(`${harness.url}/agents/chat-room/x`, { method: "OPTIONS", headers: origin });
    for (const res of [answered, preflight]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      expect(res.headers.has("0")).toBe(false);
    }
  });

  it("rejects requests and upgrades that the hooks refuse", async () => {
    harness = await startHarness({ ChatRoom }, { fetch: worker });
    expect((await fetch(`${harness.url}/api/agents/chat-room/x`)).status).toBe(401);
    await expect(TestSocket.open(`${harness.wsUrl}/api/agents/chat-room/x`)).rejects.toThrow(/failed/);
    const ok = await TestSocket.open(`${harness.wsUrl}/api/agents/chat-room/x?token=secret`);
    expect(await ok.waitForType("hello")).toEqual({ type: "hello", user: "ada" });
    ok.close();
  });

  it("answers bad names and unknown classes with 400 (as the Agents SDK), with a clear message", async () => {
    harness = await startHarness({ ChatRoom, Broken });
    const cases: Array<[string, number, RegExp]> = [
      [`/agents/chat-room/${"x".repeat(5000)}`, 400, /limit is 4096 \(maxNameBytes\)/],
      ["/agents/chat-room/", 404, /Not found/],
      ["/agents/chat-room/bad%00name", 400, /NUL/],
      // Which classes are served is for the log, not for anonymous clients (as partyserver).
      ["/agents/no-such-class/x", 400, /^Invalid request: no agent class is served at \/agents\/no-such-class\/$/],
      // Not valid percent-encoding: refused, not taken as typed (`%25ED%25A0%2580` names the agent "%ED%A0%80").
      ["/agents/chat-room/%ED%A0%80", 400, /not valid percent-encoding/],
      ["/agents/chat-room/100%", 400, /"100%" in the path is not valid percent-encoding/],
      ["/agents/chat-room/a/sub/chat-room/%E0%A4%A", 400, /not valid percent-encoding/],
      ["/agents/broken/x", 500, /^Internal Server Error$/], // an exception: its message is logged, not sent
      ["/nowhere", 404, /Not found/],
    ];
    const errors = loggedErrors();
    for (const [path, status, message] of cases) {
      const res = await fetch(`${harness.url}${path}`);
      expect(res.status, path).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    errors.restore();
    expect(errors.text()).toMatch(/must return a Response/);
    expect(errors.text()).toContain("[hearth] GET /agents/no-such-class/x: no agent class is served at /agents/no-such-class/ (served: chat-room, broken)");
    expect(await (await fetch(`${harness.url}/agents/chat-room/%25ED%25A0%2580`)).json()).toMatchObject({ name: "%ED%A0%80" });
    expect(await (await fetch(`${harness.url}/agents/chat-room/100%25`)).json()).toMatchObject({ name: "100%" });
    // The agent that failed keeps serving others.
    expect((await fetch(`${harness.url}/agents/chat-room/fine`)).status).toBe(200);
  });

  it("refuses a WebSocket upgrade to an unknown class", async () => {
    harness = await startHarness({ ChatRoom });
    await expect(TestSocket.open(`${harness.wsUrl}/agents/ghost/x`)).rejects.toThrow(/failed/);
  });

  it("serves a binding at its own name's URL too, as the Agents SDK routes every binding: a second binding of a class reaches the same instances", async () => {
    harness = await startHarness({ ChatRoom });
    const env: Record<string, unknown> = { ChatRoom: harness.host.env.ChatRoom, LobbyRoom: harness.host.env.ChatRoom };
    const byClass = await routeAgentRequest(new Request("http://localhost/agents/chat-room/a"), env);
    const byBinding = await routeAgentRequest(new Request("http://localhost/agents/lobby-room/a"), env);
    expect(byClass?.status).toBe(200);
    expect(await byBinding?.json()).toEqual({ ...((await byClass?.json()) as object), path: "/agents/lobby-room/a" });
    expect((await routeAgentRequest(new Request("http://localhost/agents/nobody/a"), env))?.status).toBe(400);
  });

  it("follows env when a binding is replaced or removed after it was first routed to", async () => {
    harness = await startHarness({ ChatRoom, Broken });
    const env: Record<string, unknown> = { Room: harness.host.env.ChatRoom };
    const room = "http://localhost/agents/chat-room/a";
    expect((await routeAgentRequest(new Request(room), env))?.status).toBe(200);
    env.Room = harness.host.env.Broken; // another class under the same key
    expect((await routeAgentRequest(new Request(room), env))?.status).toBe(400);
    await expect(routeAgentRequest(new Request("http://localhost/agents/broken/a"), env)).rejects.toThrow(/Broken.onRequest must return a Response/);
    env.Other = harness.host.env.ChatRoom; // back, under another key
    expect((await routeAgentRequest(new Request(room), env))?.status).toBe(200);
    delete env.Other;
    expect((await routeAgentRequest(new Request(room), env))?.status).toBe(400);
  });
});

/** A parent with a sub-agent class the worker exports but does not bind (only `ctx.exports` has it). */
class Feed extends Agent {
  onRequest(request: Request) {
    return Response.json({ at: `feed/${this.name}`, path: new URL(request.url).pathname });
  }
  onConnect(conn: Connection) {
    conn.send(JSON.stringify({ type: "hello", at: `feed/${this.name}`, uri: new URL(conn.uri ?? "http://x/").pathname }));
  }
}

class Topic extends Agent {
  onRequest(request: Request) {
    return Response.json({ at: `topic/${this.name}`, path: new URL(request.url).pathname });
  }
}

describe("routeAgentRequest, as the Agents SDK's code routes", () => {
  it("sends the SDK's CORS headers with cors: true (GET, POST, HEAD, OPTIONS), on a preflight and on an answer", async () => {
    harness = await startHarness({ ChatRoom });
    const env = harness.host.env;
    const preflight = await routeAgentRequest(new Request("http://localhost/agents/chat-room/a", { method: "OPTIONS" }), env, { cors: true });
    const answer = await routeAgentRequest(new Request("http://localhost/agents/chat-room/a"), env, { cors: true });
    for (const res of [preflight!, answer!]) {
      expect(Object.fromEntries([...res.headers].filter(([key]) => key.startsWith("access-control-")))).toEqual({
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, POST, HEAD, OPTIONS",
        "access-control-allow-headers": "*",
        "access-control-max-age": "86400",
      });
    }
  });

  it("leaves /sub/{x}/… to the agent itself when {x} names no class of the worker (its onRequest, its socket)", async () => {
    harness = await startHarness({ Feed }, { exportedClasses: { Topic } });
    const get = async (path: string) => (await fetch(`${harness!.url}${path}`)).json();
    expect(await get("/agents/feed/x/sub/topics/news")).toEqual({ at: "feed/x", path: "/agents/feed/x/sub/topics/news" });
    // A class the worker exports (not bound in env) is a sub-agent's, and the steps end at the first that is not.
    expect(await get("/agents/feed/x/sub/topic/news")).toEqual({ at: "topic/news", path: "/" });
    expect(await get("/agents/feed/x/sub/topic/news/sub/topics/sports")).toEqual({ at: "topic/news", path: "/sub/topics/sports" });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/feed/x/sub/topics/news`);
    expect(await socket.waitForType("hello")).toEqual({ type: "hello", at: "feed/x", uri: "/agents/feed/x/sub/topics/news" });
    socket.close();
  });

  it("takes an empty prefix as the default one, and drops empty path segments before matching", async () => {
    harness = await startHarness({ ChatRoom });
    const env = harness.host.env;
    const json = async (url: string, prefix?: string) => (await routeAgentRequest(new Request(url), env, prefix === undefined ? {} : { prefix }))?.json();
    expect(await json("http://localhost/agents/chat-room/a", "")).toMatchObject({ name: "a" });
    for (const path of ["//agents/chat-room/a", "/agents//chat-room/a", "/agents/chat-room//a", "/agents/chat-room/a/"]) {
      // The agent gets the URL as it came, as the SDK forwards it.
      expect(await json(`http://localhost${path}`), path).toEqual({ name: "a", path, user: null });
    }
    expect(await json("http://localhost//api///agents/chat-room/b", "api/agents")).toMatchObject({ name: "b" });
    for (const path of ["/agents//chat-room", "/agents/chat-room//", "//agents"]) {
      expect(await routeAgentRequest(new Request(`http://localhost${path}`), env), path).toBeNull();
    }
  });

  it("accepts the SDK's placement options (ignored) and a valid retry policy", async () => {
    harness = await startHarness({ ChatRoom });
    const res = await routeAgentRequest(new Request("http://localhost/agents/chat-room/a"), harness.host.env, {
      locationHint: "enam",
      jurisdiction: "eu",
      routingRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, onRetry: () => {} },
    });
    expect(await res?.json()).toMatchObject({ name: "a" });
    expect((await routeAgentRequest(new Request("http://localhost/agents/chat-room/a"), harness.host.env, { routingRetry: false }))?.status).toBe(200);
  });
});
