/**
 * `AgentClient` and `agentFetch` with `sub`, against a real Host on loopback: state sync and RPC
 * with a sub-agent through its parent, two levels deep, `basePath` routed by the worker, the
 * parent's `onBeforeSubAgent` refusing, and reconnecting after the server restarts on the same
 * data directory.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import {
  Agent,
  getAgentByName,
  getSubAgentByName,
  Host,
  routeAgentRequest,
  routeSubAgentRequest,
  serve,
  type AgentNamespace,
  type HearthServer,
} from "../../src/index.ts";
import { AgentClient, AgentConnectionError as ConnectionError, agentFetch } from "../../src/client/index.ts";
import type { AgentClientOptions, AgentConnectionError } from "../../src/client/index.ts";
import { Inbox, uniqueName } from "./helpers.ts";

interface ThreadState {
  messages: string[];
}

/** The sub-agent: its own state and database, below a Mailbox. */
class ChatThread extends Agent<unknown, ThreadState> {
  static callables = ["add", "whereAmI", "count"];
  override initialState: ThreadState = { messages: [] };

  add(text: string): number {
    this.setState({ messages: [...this.state.messages, text] });
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    this.sql`INSERT INTO notes (text) VALUES (${text})`;
    return this.state.messages.length;
  }

  count(): number {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]?.n ?? 0;
  }

  whereAmI(): { name: string; self: unknown } {
    return { name: this.name, self: this.selfPath };
  }

  override onRequest(request: Request): Response {
    const url = new URL(request.url);
    return Response.json({ name: this.name, path: url.pathname, token: url.searchParams.get("token"), messages: this.state.messages });
  }
}

/** The top-level agent: refuses children whose name starts with "secret". */
class Mailbox extends Agent<unknown, { owner: string }> {
  override initialState = { owner: "nobody" };

  override onBeforeSubAgent(_request: Request, child: { className: string; name: string }): Response | void {
    if (child.name.startsWith("secret")) return new Response(`No access to ${child.className} ${child.name}`, { status: 403 });
  }

  threads(): string[] {
    return this.listSubAgents(ChatThread).map((child) => child.name);
  }
}

const AGENTS = { Mailbox, ChatThread };

/** A worker route: `/me/{user}/…` reaches that user's Mailbox, and `/sub/…` below it its sub-agents. */
async function routeMe(request: Request, env: Record<string, unknown>): Promise<Response | null> {
  const match = /^\/me\/([^/]+)(\/.*)?$/.exec(new URL(request.url).pathname);
  if (!match) return routeAgentRequest(request, env);
  const mailbox = await getAgentByName(env.Mailbox as AgentNamespace<Mailbox>, decodeURIComponent(match[1]!));
  return routeSubAgentRequest(request, mailbox, { fromPath: match[2] ?? "/" });
}

interface Running {
  host: Host;
  server: HearthServer;
  url: string;
  dataDir: string;
}

let running: Running | undefined;
const dirs: string[] = [];
const clients: AgentClient[] = [];

/** A Host and server on loopback; `port` and `dataDir` bring back the one that ran before. */
async function start(options: { port?: number; dataDir?: string } = {}): Promise<Running> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "hearth-client-sub-"));
  if (!options.dataDir) dirs.push(dataDir);
  const host = new Host({ dataDir, agents: AGENTS });
  const server = await serve({
    host,
    port: options.port ?? 0,
    fetch: async (request, env) => (await routeMe(request, env)) ?? new Response("Not found", { status: 404 }),
  });
  running = { host, server, url: server.url, dataDir };
  return running;
}

async function stop(): Promise<void> {
  const current = running;
  running = undefined;
  await current?.server.close();
  await current?.host.close();
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stop();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

type Update = { state: ThreadState; source: "server" | "client" };

function connect(
  server: Running,
  sub: AgentClientOptions["sub"],
  extra: Partial<AgentClientOptions<ThreadState>> = {},
): { client: AgentClient<ChatThread>; updates: Inbox<Update>; identities: Inbox<{ name: string; agent: string }> } {
  const updates = new Inbox<Update>();
  const identities = new Inbox<{ name: string; agent: string }>();
  const client = new AgentClient<ChatThread>({
    host: server.url,
    agent: "Mailbox",
    name: "ada",
    sub,
    onStateUpdate: (state, source) => updates.push({ state, source }),
    onIdentity: (name, agent) => identities.push({ name, agent }),
    ...extra,
  });
  clients.push(client as AgentClient);
  return { client, updates, identities };
}

const mailboxOf = (server: Running, name = "ada") => getAgentByName(server.host.env.Mailbox as AgentNamespace<Mailbox>, name);

describe("AgentClient with sub", () => {
  test("syncs a sub-agent's state between clients; the parent's state is its own", async () => {
    const server = await start();
    const thread = uniqueName("t");
    const a = connect(server, [{ agent: "ChatThread", name: thread }]);
    const b = connect(server, [{ agent: "ChatThread", name: thread }]);
    expect(await a.updates.next()).toEqual({ state: { messages: [] }, source: "server" });
    await Promise.all([a.client.ready, b.client.ready, b.updates.next()]);
    expect((await a.identities.next()).name).toBe(thread);
    expect({ name: a.client.name, identified: a.client.identified }).toEqual({ name: thread, identified: true });

    a.client.setState({ messages: ["from a"] });
    expect(await a.updates.next()).toEqual({ state: { messages: ["from a"] }, source: "client" });
    expect(await b.updates.next()).toEqual({ state: { messages: ["from a"] }, source: "server" });
    expect(b.client.state).toEqual({ messages: ["from a"] });

    // The child's state is the child's: the parent and a sibling keep theirs.
    const parent = new AgentClient<{ owner: string }>({ host: server.url, agent: "Mailbox", name: "ada" });
    clients.push(parent as AgentClient);
    const sibling = connect(server, [{ agent: "ChatThread", name: `${thread}-sibling` }]);
    await Promise.all([parent.ready, sibling.client.ready]);
    expect(parent.state).toEqual({ owner: "nobody" });
    expect(sibling.client.state).toEqual({ messages: [] });
    const stored = await getSubAgentByName(await mailboxOf(server), ChatThread, thread);
    expect(await stored.whereAmI()).toMatchObject({ name: thread });
    expect(await (await mailboxOf(server)).threads()).toEqual([thread, `${thread}-sibling`]);
  });

  test("call and the typed stub run on the sub-agent, in its own database", async () => {
    const server = await start();
    const thread = uniqueName("rpc");
    const { client, updates } = connect(server, [{ agent: "ChatThread", name: thread }]);
    await client.ready;
    const first: number = await client.stub.add("hello");
    expect(first).toBe(1);
    expect(await client.call("add", ["again"])).toBe(2);
    expect(await updates.until((u) => u.state.messages.length === 2)).toEqual({
      state: { messages: ["hello", "again"] },
      source: "server",
    });
    expect(await client.stub.whereAmI()).toEqual({
      name: thread,
      self: [
        { className: "Mailbox", name: "ada" },
        { className: "ChatThread", name: thread },
      ],
    });
    const stored = await getSubAgentByName(await mailboxOf(server), ChatThread, thread);
    expect(await stored.count()).toBe(2);
    // Another mailbox's child of the same name is another agent.
    const other = connect(server, [{ agent: "ChatThread", name: thread }], { name: "bob" });
    expect(await other.client.stub.count()).toBe(0);
  });

  test("two levels deep: state, RPC and agentFetch reach the grandchild", async () => {
    const server = await start();
    const sub = [
      { agent: "ChatThread", name: "parent thread" },
      { agent: "ChatThread", name: "reply/1" },
    ];
    const { client, updates } = connect(server, sub);
    await client.ready;
    expect(client.name).toBe("reply/1");
    expect(await client.stub.add("deep")).toBe(1);
    expect(await updates.until((u) => u.state.messages.length === 1)).toMatchObject({ state: { messages: ["deep"] } });
    expect(await client.stub.whereAmI()).toEqual({
      name: "reply/1",
      self: [
        { className: "Mailbox", name: "ada" },
        { className: "ChatThread", name: "parent thread" },
        { className: "ChatThread", name: "reply/1" },
      ],
    });
    const res = await agentFetch({ host: server.url, agent: "Mailbox", name: "ada", sub, path: "messages", query: { token: "t" } });
    expect(await res.json()).toEqual({ name: "reply/1", path: "/messages", token: "t", messages: ["deep"] });
    // The middle agent has a database of its own, without the grandchild's notes.
    const middle = connect(server, [sub[0]!]);
    expect(await middle.client.stub.count()).toBe(0);
  });

  test("agentFetch: the sub-agent's onRequest gets the path after its address and the query", async () => {
    const server = await start();
    const sub = [{ agent: "ChatThread", name: "a/b c" }];
    const res = await agentFetch(
      { host: server.url, agent: "Mailbox", name: "ada", sub, path: "/items", query: async () => ({ token: "async" }) },
      { method: "GET" },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "a/b c", path: "/items", token: "async", messages: [] });
  });

  test("basePath: the worker's own route to a parent, with the steps after it", async () => {
    const server = await start();
    const sub = [{ agent: "ChatThread", name: "t1" }];
    const { client } = connect(server, sub, { agent: "Mailbox", name: undefined, basePath: "me/grace" });
    await client.ready;
    expect(client.roomUrl).toBe(`${server.url.replace(/^http/, "ws")}/me/grace/sub/chat-thread/t1`);
    expect(client.name).toBe("t1");
    expect(await client.stub.add("via basePath")).toBe(1);
    const stored = await getSubAgentByName(await mailboxOf(server, "grace"), ChatThread, "t1");
    expect(await stored.count()).toBe(1);
    const res = await agentFetch({ host: server.url, agent: "Mailbox", basePath: "/me/grace/", sub, path: "x" });
    expect(await res.json()).toMatchObject({ name: "t1", path: "/x", messages: ["via basePath"] });
  });

  test("onBeforeSubAgent refusing: agentFetch gets its Response; the socket ends with an error that says it never opened", async () => {
    const server = await start();
    const sub = [{ agent: "ChatThread", name: "secret-1" }];
    const res = await agentFetch({ host: server.url, agent: "Mailbox", name: "ada", sub });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("No access to ChatThread secret-1");

    const errors = new Inbox<AgentConnectionError>();
    const closes = new Inbox<number>();
    const { client } = connect(server, sub, {
      maxRetries: 2,
      minReconnectionDelay: 10,
      maxReconnectionDelay: 20,
      onConnectionError: errors.push,
      onClose: (event) => closes.push(event.code),
    });
    const call = client.call("count").catch((reason: unknown) => reason);
    const error = await errors.next();
    // A refused upgrade is an error event, no close frame: code 1006, whatever PartySocket's stand-in close says.
    expect({ code: error.code, reason: error.reason, wasClean: error.wasClean, message: error.message }).toEqual({
      code: 1006,
      reason: "",
      wasClean: false,
      message:
        "Agent connection closed: WebSocket closed with code 1006 before it opened (the server refused the upgrade or could not be reached)",
    });
    expect(client.connectionError).toBe(error);
    // It tried again (maxRetries) before giving up.
    expect(closes.seen.length).toBeGreaterThanOrEqual(2);
    expect(await call).toEqual(new Error("Connection closed"));
    expect(client.identified).toBe(false);
    // Refused before the child was created: the parent has no such child.
    expect(await (await mailboxOf(server)).threads()).toEqual([]);
  });

  test("a connection that opened and then ends for good keeps the plain message", async () => {
    const server = await start();
    const errors = new Inbox<AgentConnectionError>();
    const { client } = connect(server, [{ agent: "ChatThread", name: "t1" }], {
      maxRetries: 0,
      onConnectionError: errors.push,
    });
    await client.ready;
    await stop();
    const error = await errors.next();
    expect(error.message).toBe("Agent connection closed: Server shutting down");
    expect(error.code).toBe(1001);
  });

  test("reconnects after the server restarts on the same data directory, to the same sub-agent", async () => {
    const first = await start();
    const port = first.server.port;
    const thread = uniqueName("restart");
    const changes: string[] = [];
    const { client, updates, identities } = connect(first, [{ agent: "ChatThread", name: thread }], {
      minReconnectionDelay: 20,
      maxReconnectionDelay: 100,
      onIdentityChange: (oldName, newName) => changes.push(`${oldName}→${newName}`),
    });
    await client.ready;
    expect(await client.stub.add("before")).toBe(1);
    await updates.until((u) => u.state.messages.length === 1);

    await stop();
    const second = await start({ port, dataDir: first.dataDir });
    // The first identity is the first connection's, the second the reconnected one's; the state
    // comes back from the child's file.
    expect((await identities.next()).name).toBe(thread);
    expect((await identities.next()).name).toBe(thread);
    await client.ready;
    expect(client.state).toEqual({ messages: ["before"] });
    expect(await client.stub.add("after")).toBe(2);
    expect(changes).toEqual([]);
    const stored = await getSubAgentByName(await mailboxOf(second), ChatThread, thread);
    expect(await stored.count()).toBe(2);
  });
});

describe("AgentConnectionError", () => {
  test("a connection that never opened: code 1006, no reason, whatever close stands in for it", () => {
    const message =
      "Agent connection closed: WebSocket closed with code 1006 before it opened (the server refused the upgrade or could not be reached)";
    // PartySocket's stand-ins: in Node, and copied in a browser (the event type as code, an Event as reason).
    const stand = [
      { code: 1000, reason: "unknown reason", wasClean: true },
      { code: "close", reason: new Event("close"), wasClean: true } as unknown as { code: number; reason: string; wasClean: boolean },
    ];
    for (const event of stand) {
      const error = new ConnectionError(event, false);
      expect({ code: error.code, reason: error.reason, wasClean: error.wasClean, message: error.message }).toEqual({
        code: 1006,
        reason: "",
        wasClean: false,
        message,
      });
    }
    const opened = new ConnectionError({ code: 4001, reason: "unauthorized", wasClean: true }, true);
    expect({ code: opened.code, message: opened.message }).toEqual({ code: 4001, message: "Agent connection closed: unauthorized" });
    const odd = new ConnectionError({ code: "close", reason: {}, wasClean: true } as unknown as { code: number; reason: string; wasClean: boolean });
    expect({ code: odd.code, reason: odd.reason, message: odd.message }).toEqual({
      code: 1006,
      reason: "",
      message: "Agent connection closed: WebSocket closed with code 1006",
    });
  });
});
