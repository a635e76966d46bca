import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, getAgentByName, type Connection, type WorkerFetch } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

class Room extends Agent<unknown, { topic: string }> {
  initialState = { topic: "general" };
  static callables = ["whoAmI"];
  onConnect(connection: Connection) {
    connection.send(JSON.stringify({ type: "welcome", name: this.name, server: connection.server }));
  }
  whoAmI() {
    return this.name;
  }
}

/** Hides its instance names: no identity frame on connect. */
class Secret extends Agent<unknown, { n: number }> {
  static options = { sendIdentityOnConnect: false };
  initialState = { n: 7 };
}

class Plain extends Agent {
  static options = { sendIdentityOnConnect: true };
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  vi.restoreAllMocks();
});

describe("custom routing through a stub's fetch", () => {
  it("opens a WebSocket (101) to a server-chosen instance from any path", async () => {
    const worker: WorkerFetch = async (request, env) => {
      const url = new URL(request.url);
      if (url.pathname === "/custom/path") {
        // The instance name comes from the server (say, a session), not the URL.
        const stub = await getAgentByName(env.Room as AgentNamespace<Room>, `session-${url.searchParams.get("user")}`);
        return stub.fetch(request);
      }
      return new Response("no", { status: 404 });
    };
    harness = await startHarness({ Room }, { fetch: worker });
    const socket = await TestSocket.open(`${harness.wsUrl}/custom/path?user=ada`);
    expect(await socket.waitForType("cf_agent_identity")).toMatchObject({ name: "session-ada", agent: "room" });
    expect(await socket.waitForType("welcome")).toEqual({ type: "welcome", name: "session-ada", server: "session-ada" });
    expect(await socket.call("whoAmI")).toMatchObject({ success: true, result: "session-ada" });
    socket.close();
    // Plain HTTP through the same stub still reaches onRequest (404: Room has none).
    const http = await fetch(`${harness.url}/custom/path?user=ada`);
    expect(http.status).toBe(404);
    expect(await http.text()).toMatch(/Room does not handle HTTP requests/);
  });

  it("answers the upgrade with 101 at the HTTP level", async () => {
    const worker: WorkerFetch = async (request, env) => (env.Room as AgentNamespace<Room>).getByName("r").fetch(request);
    harness = await startHarness({ Room }, { fetch: worker });
    const { request } = await import("node:http");
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${harness!.url}/anything`, {
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
      });
      req.on("upgrade", (response, socket) => {
        socket.destroy();
        resolve(response.statusCode);
      });
      req.on("response", (response) => resolve(response.statusCode));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(101);
  });
});

describe("static options", () => {
  it("sendIdentityOnConnect: false sends no identity frame (the state still comes)", async () => {
    harness = await startHarness({ Secret, Plain });
    const secret = await TestSocket.open(`${harness.wsUrl}/agents/secret/private-name`);
    expect(await secret.waitForType("cf_agent_state")).toEqual({ type: "cf_agent_state", state: { n: 7 } });
    await secret.waitForType("cf_agent_mcp_servers");
    expect(secret.frames.some((f) => typeof f === "object" && f.type === "cf_agent_identity")).toBe(false);
    expect(JSON.stringify(secret.frames)).not.toContain("private-name");
    const plain = await TestSocket.open(`${harness.wsUrl}/agents/plain/p`);
    expect(await plain.waitForType("cf_agent_identity")).toMatchObject({ name: "p", agent: "plain" });
    secret.close();
    plain.close();
  });

  it("refuses options of the wrong type at start-up, with a message naming the class", async () => {
    class Wrong extends Agent {
      static options = { sendIdentityOnConnect: "no" };
    }
    class BadRetry extends Agent {
      static options = { retry: { baseDelayMs: 5000 } };
    }
    await expect(startHarness({ Wrong })).rejects.toThrow("Wrong.options.sendIdentityOnConnect must be a boolean");
    await expect(startHarness({ BadRetry })).rejects.toThrow("BadRetry.options: retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)");
  });
});

describe("two classes with the same URL segment", () => {
  it("serves the first at the URL, warns, and keeps the second reachable with storage of its own", async () => {
    class First extends Agent {
      onRequest() {
        return new Response(`first:${this.name}`);
      }
      write(value: string) {
        this.ctx.storage.kv.put("v", value);
      }
      read() {
        return this.ctx.storage.kv.get("v") ?? null;
      }
    }
    class Second extends First {
      onRequest() {
        return new Response(`second:${this.name}`);
      }
    }
    const warnings: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((message: string) => void warnings.push(message));
    harness = await startHarness({ ChatRoom: First, chatRoom: Second });
    expect(warnings.join("\n")).toMatch(/ChatRoom and chatRoom both map to \/chat-room\/: the URL serves ChatRoom/);
    expect(await (await fetch(`${harness.url}/agents/chat-room/a`)).text()).toBe("first:a");
    const env = harness.host.env as { ChatRoom: AgentNamespace<First>; chatRoom: AgentNamespace<Second> };
    expect(await (await env.chatRoom.getByName("a").fetch("http://x/")).text()).toBe("second:a");
    // Same instance name, different classes: different databases.
    await env.ChatRoom.getByName("a").write("one");
    await env.chatRoom.getByName("a").write("two");
    expect(await env.ChatRoom.getByName("a").read()).toBe("one");
    expect(await env.chatRoom.getByName("a").read()).toBe("two");
  });
});

describe("props for onStart", () => {
  class Tenant extends Agent {
    startedWith: Record<string, unknown> | undefined;
    onStart(props?: Record<string, unknown>) {
      this.startedWith = props;
    }
    onRequest() {
      return Response.json(this.startedWith ?? null);
    }
    props() {
      return this.startedWith ?? null;
    }
  }

  it("getAgentByName(ns, name, { props }) starts the agent with them; a live agent keeps its own", async () => {
    harness = await startHarness({ Tenant });
    const ns = harness.host.env.Tenant as AgentNamespace<Tenant>;
    const stub = await getAgentByName(ns, "t1", { props: { plan: "pro" } });
    expect(await stub.props()).toEqual({ plan: "pro" });
    await getAgentByName(ns, "t1", { props: { plan: "free" } });
    expect(await stub.props()).toEqual({ plan: "pro" });
    expect(await (await getAgentByName(ns, "t2")).props()).toBeNull();
  });

  it("routeAgentRequest(req, env, { props }) hands them to onStart", async () => {
    const { routeAgentRequest } = await import("../../src/index.ts");
    const worker: WorkerFetch = async (request, env) =>
      (await routeAgentRequest(request, env, { props: { user: request.headers.get("x-user") } })) ?? new Response("no", { status: 404 });
    harness = await startHarness({ Tenant }, { fetch: worker });
    const res = await fetch(`${harness.url}/agents/tenant/t3`, { headers: { "x-user": "ada" } });
    expect(await res.json()).toEqual({ user: "ada" });
  });
});

describe("createTestEnv with a class the host refuses", () => {
  it("throws the host's error and leaves Date as it was", async () => {
    const { createTestEnv } = await import("../../src/testing/index.ts");
    class Wrong extends Agent {
      static options = { sendIdentityOnConnect: 1 };
    }
    const before = Date;
    await expect(createTestEnv({ agents: { Wrong } })).rejects.toThrow("Wrong.options.sendIdentityOnConnect must be a boolean");
    expect(Date).toBe(before);
  });
});
