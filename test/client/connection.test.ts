/**
 * `AgentClient`'s connection API as the Agents SDK documents it, against a real Hearth server on
 * loopback: `ready` and identity, `onIdentityChange` when server-side routing picks another
 * instance, terminal close codes (`connectionError`, `onConnectionError`), the default call
 * timeout, `query` (fixed or a function), `path`, `transport`, and `agentFetch` with `basePath`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { Agent, Host, routeAgentRequest, serve, type Connection, type ConnectionContext } from "../../src/index.ts";
import type { HearthServer } from "../../src/index.ts";
import {
  AgentClient,
  AgentConnectionError,
  agentFetch,
  DEFAULT_CALL_TIMEOUT_MS,
  isTerminalCloseEvent,
  splitCallOptions,
} from "../../src/client/index.ts";
import type { AgentClientOptions } from "../../src/client/index.ts";
import { PendingCalls } from "../../src/client/pending-calls.ts";
import { Inbox, routeBySession, uniqueName } from "./helpers.ts";

let releaseHang: () => void = () => {};
const hang = new Promise<void>((resolve) => {
  releaseHang = resolve;
});

/** Greets every connection with the path and token it connected with. */
class Desk extends Agent<unknown, { visits: number }> {
  static callables = ["kick", "hang", "whoami"];
  override initialState = { visits: 0 };

  override onConnect(connection: Connection, ctx: ConnectionContext): void {
    const url = new URL(ctx.request.url);
    connection.send(JSON.stringify({ type: "hello", path: url.pathname, token: url.searchParams.get("token") }));
  }

  override validateStateChange(next: { visits: number }): void {
    if (next.visits < 0) throw new Error("visits cannot be negative");
  }

  override onRequest(request: Request): Response {
    const url = new URL(request.url);
    return Response.json({ name: this.name, path: url.pathname, token: url.searchParams.get("token") });
  }

  kick(code: number, reason: string): void {
    for (const connection of this.getConnections()) connection.close(code, reason);
  }

  async hang(): Promise<string> {
    await hang;
    return "released";
  }

  whoami(): string {
    return this.name;
  }
}

interface Hello {
  type: "hello";
  path: string;
  token: string | null;
}

let tmp: string;
let host: Host;
let server: HearthServer;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-client-connection-"));
  host = new Host({ dataDir: tmp, agents: { Desk } });
  server = await serve({
    host,
    port: 0,
    // "/me?user=…": the worker picks the instance (routing by session), as with `basePath` clients.
    fetch: async (request, env) =>
      (await routeBySession(request, env)) ??
      (await routeAgentRequest(request, env)) ??
      new Response("Not found", { status: 404 }),
  });
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
  vi.restoreAllMocks();
});
afterAll(async () => {
  releaseHang();
  await server.close();
  await host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function connect(options: Omit<AgentClientOptions, "host" | "agent"> & { agent?: string }) {
  const hellos = new Inbox<Hello>();
  const closes = new Inbox<CloseEvent>();
  const client = new AgentClient({ host: server.url, agent: "Desk", ...options });
  client.addEventListener("message", (event) => {
    const frame: unknown = typeof event.data === "string" ? JSON.parse(event.data) : null;
    if ((frame as Hello | null)?.type === "hello") hellos.push(frame as Hello);
  });
  client.addEventListener("close", (event) => closes.push(event));
  open.push(client);
  return { client, hellos, closes };
}

describe("identity", () => {
  test("ready resolves with the server's identity; a basePath client learns its instance from it", async () => {
    const { client } = connect({ basePath: "me", query: { user: "ada" } });
    expect(client.identified).toBe(false);
    await client.ready;
    expect({ name: client.name, agent: client.agent, identified: client.identified }).toEqual({
      name: "user-ada",
      agent: "desk",
      identified: true,
    });
  });

  test("onIdentityChange reports a reconnect that reached another instance", async () => {
    let user = "ada";
    const changes = new Inbox<string[]>();
    const identities = new Inbox<string>();
    const { client } = connect({
      basePath: "/me/",
      query: () => ({ user }),
      onIdentity: (name) => identities.push(name),
      onIdentityChange: (...names) => changes.push(names),
    });
    expect(await identities.next()).toBe("user-ada");
    user = "bob";
    client.reconnect();
    expect(await identities.next()).toBe("user-bob");
    expect(await changes.next()).toEqual(["user-ada", "user-bob", "desk", "desk"]);
    expect(client.name).toBe("user-bob");
    // Reconnecting to the same instance is no change.
    client.reconnect();
    expect(await identities.next()).toBe("user-bob");
    expect(changes.seen).toHaveLength(1);
  });

  test("without onIdentityChange, a change is logged as a warning", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    let user = "cy";
    const identities = new Inbox<string>();
    const { client } = connect({ basePath: "me", query: () => ({ user }), onIdentity: (name) => identities.push(name) });
    await identities.next();
    user = "di";
    client.reconnect();
    await identities.next();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('instance "user-cy" → "user-di"');
  });
});

describe("terminal closes", () => {
  test("a 4000–4999 close ends the connection: connectionError, onConnectionError, calls fail fast", async () => {
    const errors = new Inbox<AgentConnectionError>();
    const { client, closes } = connect({ name: uniqueName("kick"), onConnectionError: (error) => errors.push(error) });
    await client.ready;
    const pending = client.call("hang");
    const rejected = expect(pending).rejects.toThrow("Connection closed"); // watched before the close can happen
    await client.call("whoami");
    void client.call("kick", [4001, "unauthorized"]).catch(() => undefined);
    const error = await errors.next();
    expect(error).toBeInstanceOf(AgentConnectionError);
    expect({ code: error.code, reason: error.reason, message: error.message }).toEqual({
      code: 4001,
      reason: "unauthorized",
      message: "Agent connection closed: unauthorized",
    });
    expect((await closes.next()).code).toBe(4001);
    expect(client.connectionError).toBe(error);
    expect(client.shouldReconnect).toBe(false);
    expect(client.identified).toBe(false);
    await rejected;
    await expect(client.call("whoami")).rejects.toThrow("Connection closed");

    // reconnect() brings it back and clears the error.
    client.reconnect();
    await client.ready;
    expect(client.connectionError).toBeNull();
    expect(await client.call("whoami")).toBe(client.name);
  });

  test("an ordinary close reconnects; shouldReconnectOnClose can end it too", async () => {
    const errors = new Inbox<AgentConnectionError>();
    const name = uniqueName("policy");
    const { client, hellos } = connect({
      name,
      minReconnectionDelay: 1,
      maxReconnectionDelay: 10,
      shouldReconnectOnClose: (event) => event.code !== 3999,
      onConnectionError: (error) => errors.push(error),
    });
    await hellos.next();
    void client.call("kick", [1001, "going away"]).catch(() => undefined);
    await hellos.next(); // reconnected by itself
    expect(client.connectionError).toBeNull();
    void client.call("kick", [3999, "done"]).catch(() => undefined);
    expect((await errors.next()).code).toBe(3999);
    expect(client.shouldReconnect).toBe(false);
  });

  test("retries spent on an address nobody answers end the connection with a connection error", async () => {
    const errors = new Inbox<AgentConnectionError>();
    const client = new AgentClient({
      host: "127.0.0.1:1",
      agent: "Desk",
      maxRetries: 1,
      minReconnectionDelay: 1,
      maxReconnectionDelay: 1,
      onConnectionError: (error) => errors.push(error),
    });
    open.push(client);
    expect(await errors.next()).toBeInstanceOf(AgentConnectionError);
    expect(client.connectionError).not.toBeNull();
  });

  test("isTerminalCloseEvent: 1008 and 4000–4999", () => {
    const codes = [1000, 1001, 1006, 1008, 3999, 4000, 4500, 4999, 5000];
    expect(codes.filter((code) => isTerminalCloseEvent({ code }))).toEqual([1008, 4000, 4500, 4999]);
  });
});

describe("state", () => {
  test("a state the agent refuses reaches onStateUpdateError; the agent keeps its state", async () => {
    const refusals = new Inbox<string>();
    const { client } = connect({ name: uniqueName("refused"), onStateUpdateError: (error) => refusals.push(error) });
    await client.ready;
    client.setState({ visits: -1 });
    expect(await refusals.next()).toBe("State update rejected");
    const other = connect({ name: client.name });
    await other.client.ready;
    expect(other.client.state).toEqual({ visits: 0 });
  });
});

describe("calls", () => {
  test("a call without its own timeout gets defaultCallTimeout; a per-call timeout wins; 0 disables", async () => {
    const { client } = connect({ name: uniqueName("timeout"), defaultCallTimeout: 30 });
    await client.ready;
    await expect(client.call("hang")).rejects.toThrow("RPC call to hang timed out after 30ms");
    await expect(client.call("hang", [], { timeout: 20 })).rejects.toThrow("RPC call to hang timed out after 20ms");
    const errors: string[] = [];
    const streamed = client.call("hang", [], { stream: { onError: (message) => errors.push(message) }, timeout: 10 });
    await expect(streamed).rejects.toThrow("timed out after 10ms");
    expect(errors).toEqual(["RPC call to hang timed out after 10ms"]);
  });

  test("the default timeout is 30 seconds, as in the Agents SDK; streaming calls have none", async () => {
    expect(DEFAULT_CALL_TIMEOUT_MS).toBe(30_000);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const calls = new PendingCalls();
      const plain = calls.start(() => null, "slow", []);
      const streaming = calls.start(() => null, "stream", [], { onChunk: () => {} });
      const disabled = calls.start(() => null, "off", [], undefined, 0);
      const outcome = plain.catch((error: unknown) => (error as Error).message);
      vi.advanceTimersByTime(DEFAULT_CALL_TIMEOUT_MS);
      expect(await outcome).toBe("RPC call to slow timed out after 30000ms");
      expect(calls.size).toBe(2);
      calls.rejectAll("done");
      await Promise.allSettled([streaming, disabled]);
    } finally {
      vi.useRealTimers();
    }
  });

  test("splitCallOptions reads both shapes of the third argument", () => {
    const onChunk = () => {};
    expect(splitCallOptions({ onChunk })).toEqual({ stream: { onChunk }, timeout: undefined });
    expect(splitCallOptions({ stream: { onChunk }, timeout: 5 })).toEqual({ stream: { onChunk }, timeout: 5 });
    expect(splitCallOptions(undefined)).toEqual({ stream: undefined, timeout: undefined });
  });
});

describe("address options", () => {
  test("query: fixed parameters, or a function called before every connection", async () => {
    const fixed = connect({ name: uniqueName("query"), query: { token: "t-1", empty: null } });
    expect((await fixed.hellos.next()).token).toBe("t-1");

    let issued = 0;
    const refreshing = connect({ name: uniqueName("query-fn"), query: async () => ({ token: `t-${++issued}` }) });
    expect((await refreshing.hellos.next()).token).toBe("t-1");
    refreshing.client.reconnect();
    expect((await refreshing.hellos.next()).token).toBe("t-2");
  });

  test("path appends a sub-path to the instance URL, with or without a leading slash", async () => {
    const name = uniqueName("path");
    const plain = connect({ name, path: "settings/a" });
    expect((await plain.hellos.next()).path).toBe(`/agents/desk/${name}/settings/a`);
    const slashed = connect({ name, path: "/settings" });
    expect((await slashed.hellos.next()).path).toBe(`/agents/desk/${name}/settings`);
  });

  test("transport: the default WebSocket is accepted, others are refused by name", () => {
    const client = new AgentClient({ host: server.url, agent: "Desk", transport: "cf-websocket", startClosed: true });
    client.close();
    expect(() => new AgentClient({ host: server.url, agent: "Desk", transport: "capnweb" as never, startClosed: true })).toThrow(
      'transport "capnweb" is not supported: Hearth serves agents over a plain WebSocket ("cf-websocket", the default)',
    );
  });

  test("agentFetch: basePath routes through the worker, query may be a function", async () => {
    const response = await agentFetch({
      host: server.url,
      agent: "Desk",
      basePath: "/me",
      query: async () => ({ user: "eve", token: "t-9" }),
    });
    expect(await response.json()).toEqual({ name: "user-eve", path: "/me", token: "t-9" });
    const sub = await agentFetch({ host: server.url, agent: "Desk", name: "desk-1", path: "notes", query: { token: null } });
    expect(await sub.json()).toEqual({ name: "desk-1", path: "/agents/desk/desk-1/notes", token: null });
  });
});
