/**
 * `AgentClient.updateProperties` (PartySocket's) against a real Hearth server on loopback: `room`,
 * `party` and `prefix` readdress the client as in the Agents SDK, the next connection reaches the
 * new instance, and other changes keep the address and the client's `name`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { Agent, Host, routeAgentRequest, serve, type Connection, type ConnectionContext, type HearthServer } from "../../src/index.ts";
import { AgentClient } from "../../src/client/index.ts";
import type { AgentClientOptions } from "../../src/client/index.ts";
import { Inbox, uniqueName } from "./helpers.ts";

/** Tells each connection which class and instance it reached, and the path and query it used. */
class Room extends Agent {
  static callables = ["whoami"];

  override onConnect(connection: Connection, ctx: ConnectionContext): void {
    const url = new URL(ctx.request.url);
    connection.send(JSON.stringify({ type: "hello", path: url.pathname, token: url.searchParams.get("token") }));
  }

  whoami(): string {
    return `${this.constructor.name}/${this.name}`;
  }
}

class Lobby extends Room {}

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
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-client-update-"));
  host = new Host({ dataDir: tmp, agents: { Room, Lobby } });
  server = await serve({
    host,
    port: 0,
    // The agents under "/api" as well as under the default "/agents".
    fetch: async (request, env) =>
      (await routeAgentRequest(request, env, { prefix: "api" })) ??
      (await routeAgentRequest(request, env)) ??
      new Response("Not found", { status: 404 }),
  });
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
  vi.restoreAllMocks();
});
afterAll(async () => {
  await server.close();
  await host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function connect(options: Omit<AgentClientOptions, "host" | "agent"> & { agent?: string }) {
  const hellos = new Inbox<Hello>();
  const client = new AgentClient({ host: server.url, agent: "Room", ...options });
  client.addEventListener("message", (event) => {
    const frame: unknown = typeof event.data === "string" ? JSON.parse(event.data) : null;
    if ((frame as Hello | null)?.type === "hello") hellos.push(frame as Hello);
  });
  open.push(client);
  return { client, hellos };
}

describe("AgentClient.updateProperties", () => {
  test("room: the next connection reaches that instance", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    const { client, hellos } = connect({ name: a });
    expect(await client.call("whoami")).toBe(`Room/${a}`);
    client.updateProperties({ room: b });
    expect(client.agentPath).toEqual([{ agent: "Room", name: b }]);
    expect(client.name).toBe(b);
    client.reconnect();
    expect(await client.call("whoami")).toBe(`Room/${b}`);
    expect((await hellos.until((hello) => hello.path !== `/agents/room/${a}`)).path).toBe(`/agents/room/${b}`);
    expect(new URL(client.url).pathname).toBe(`/agents/room/${b}`);
    // The client chose the new instance: no "reached another agent" warning.
    expect(warnings).not.toHaveBeenCalled();
  });

  test("party and prefix: another class, under another prefix; the sub-path stays", async () => {
    const name = uniqueName("p");
    const { client, hellos } = connect({ name, path: "settings" });
    expect((await hellos.next()).path).toBe(`/agents/room/${name}/settings`);
    client.updateProperties({ party: "lobby", prefix: "api" });
    client.reconnect();
    expect(await client.call("whoami")).toBe(`Lobby/${name}`);
    expect((await hellos.next()).path).toBe(`/api/lobby/${name}/settings`);
    expect({ agent: client.agent, name: client.name }).toEqual({ agent: "lobby", name });
  });

  test("other properties keep the address and the client's name", async () => {
    const name = uniqueName("q");
    const { client, hellos } = connect({ name, path: "settings", query: { token: "one" } });
    expect(await hellos.next()).toMatchObject({ path: `/agents/room/${name}/settings`, token: "one" });
    client.updateProperties({ query: { token: "two" } });
    expect(client.name).toBe(name);
    client.reconnect();
    expect(await hellos.next()).toEqual({ type: "hello", path: `/agents/room/${name}/settings`, token: "two" });
    expect(await client.call("whoami")).toBe(`Room/${name}`);
  });

  test("room is the top-level instance name, as in the Agents SDK, and follows a readdress", async () => {
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    const { client } = connect({ name: a, path: "settings", startClosed: true });
    expect(client.room).toBe(a);
    client.updateProperties({ room: b });
    expect(client.room).toBe(b);
    client.updateProperties({ party: "lobby", query: { token: "t" } });
    expect(client.room).toBe(b);
    client.reconnect();
    expect(await client.call("whoami")).toBe(`Lobby/${b}`);
    expect(client.room).toBe(b);

    expect(connect({ startClosed: true }).client.room).toBe("default");
    expect(connect({ name: a, sub: [{ agent: "Lobby", name: "t1" }], startClosed: true }).client.room).toBe(a);
    // With basePath the server picks the instance: PartySocket has no room, as with the SDK.
    expect(connect({ basePath: "agents/room/x", startClosed: true }).client.room).toBeUndefined();
  });

  test("a readdress drops the previous instance's state", async () => {
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    const updates: unknown[] = [];
    const { client } = connect({ name: a, onStateUpdate: (state) => updates.push(state) });
    await client.ready;
    client.setState({ owner: a });
    expect(client.state).toEqual({ owner: a });
    client.updateProperties({ query: { token: "t" } });
    expect(client.state).toEqual({ owner: a });
    client.updateProperties({ room: b });
    expect(client.state).toBeUndefined();
    client.reconnect();
    expect(await client.call("whoami")).toBe(`Room/${b}`);
    expect(client.state).toBeUndefined();
    expect(updates).toEqual([{ owner: a }]);
  });

  test("a call still waiting for the old address is not sent to the new one", async () => {
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    const { client } = connect({ name: a, startClosed: true });
    const stale = client.call("whoami");
    client.updateProperties({ room: b });
    await expect(stale).rejects.toThrow(/discarded/);
    client.reconnect();
    expect(await client.call("whoami")).toBe(`Room/${b}`);
  });
});
