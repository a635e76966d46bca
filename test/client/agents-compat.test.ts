/**
 * The Cloudflare Agents SDK's own browser client (`agents/client`) against a
 * real Hearth server: the wire protocol must be compatible frame for frame.
 */
import { AgentClient, agentFetch } from "agents/client";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { CounterState, RunningServer } from "./fixture.ts";
import { startServer } from "./fixture.ts";
import { Inbox, uniqueName } from "./helpers.ts";

type Update = { state: CounterState; source: "server" | "client" };

let server: RunningServer;
const open: AgentClient<unknown, CounterState>[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await server.close();
});

function connect(name: string, agent = "Counter") {
  const updates = new Inbox<Update>();
  const frames = new Inbox<Record<string, unknown>>();
  const client = new AgentClient<unknown, CounterState>({
    host: server.host,
    agent,
    name,
    onStateUpdate: (state, source) => updates.push({ state, source }),
  });
  client.addEventListener("message", (event) => {
    if (typeof event.data === "string") frames.push(JSON.parse(event.data) as Record<string, unknown>);
  });
  open.push(client);
  return { client, updates, frames };
}

describe("agents/client AgentClient against Hearth", () => {
  test("receives the identity frame, then the state frame", async () => {
    const name = uniqueName("identity");
    const { client, updates, frames } = connect(name);
    await client.ready;
    expect(await updates.next()).toEqual({ state: { count: 0 }, source: "server" });
    expect(frames.seen[0]).toMatchObject({ type: "cf_agent_identity", name, agent: "counter" });
    expect(frames.seen[1]).toEqual({ type: "cf_agent_state", state: { count: 0 } });
    expect(client.identified).toBe(true);
    expect(client.name).toBe(name);
    expect(client.agent).toBe("counter");
    expect(client.state).toEqual({ count: 0 });
  });

  test("reaches a multi-word class under its kebab-case name", async () => {
    const { client } = connect(uniqueName("room"), "ChatRoom");
    await client.ready;
    expect(client.agent).toBe("chat-room");
    expect(await client.call("whoami")).toBe(client.name);
  });

  test("calls callables through call() and stub", async () => {
    const { client } = connect(uniqueName("call"));
    expect(await client.call("increment", [2])).toBe(2);
    expect(await client.stub.increment!(3)).toBe(5);
    expect(await client.call("getCount")).toBe(5);
  });

  test("gets state broadcasts caused by another client", async () => {
    const name = uniqueName("broadcast");
    const a = connect(name);
    const b = connect(name);
    await Promise.all([a.client.ready, b.client.ready]);
    await b.updates.next();
    await a.client.call("increment", [5]);
    expect(await b.updates.until((u) => u.state.count === 5)).toEqual({ state: { count: 5 }, source: "server" });
  });

  test("sets state: other clients receive it, the sender is not echoed, the agent keeps it", async () => {
    const name = uniqueName("set-state");
    const a = connect(name);
    const b = connect(name);
    await Promise.all([a.client.ready, b.client.ready]);
    await Promise.all([a.updates.next(), b.updates.next()]);
    a.client.setState({ count: 42 });
    expect(await a.updates.next()).toEqual({ state: { count: 42 }, source: "client" });
    expect(await b.updates.next()).toEqual({ state: { count: 42 }, source: "server" });
    // Frames arrive in order, so an echo of the sender's own update would come before this reply.
    expect(await a.client.call("getCount")).toBe(42);
    expect(a.updates.seen.filter((u) => u.source === "server" && u.state.count === 42)).toEqual([]);
  });

  test("streams chunks of a streaming callable", async () => {
    const { client } = connect(uniqueName("stream"));
    const chunks: unknown[] = [];
    let final: unknown;
    const result = await client.call("countdown", [3], {
      onChunk: (chunk) => chunks.push(chunk),
      onDone: (value) => {
        final = value;
      },
    });
    expect(chunks).toEqual([3, 2, 1]);
    expect(final).toBe("liftoff");
    expect(result).toBe("liftoff");
  });

  test("a streaming callable's error rejects the call", async () => {
    const { client } = connect(uniqueName("stream-error"));
    const chunks: unknown[] = [];
    const errors: string[] = [];
    const call = client.call("failStream", [], {
      onChunk: (chunk) => chunks.push(chunk),
      onError: (message) => errors.push(message),
    });
    await expect(call).rejects.toThrow("stream broke");
    expect(chunks).toEqual(["first"]);
    expect(errors).toEqual(["stream broke"]);
  });

  test("unknown, unmarked and throwing methods reject with the server's message", async () => {
    const { client } = connect(uniqueName("errors"));
    await expect(client.call("noSuchMethod")).rejects.toThrow(/noSuchMethod/);
    await expect(client.call("secret")).rejects.toThrow(/secret/);
    await expect(client.call("fail")).rejects.toThrow("boom");
    expect(await client.call("getCount")).toBe(0);
  });

  test("unicode names go raw in the URL and round-trip", async () => {
    for (const name of ["héllo wörld", "日本語", "emoji 🎉"]) {
      const { client } = connect(name);
      await client.ready;
      expect(client.name).toBe(name);
      expect(await client.call("whoami")).toBe(name);
    }
  });

  test("names with '/' round-trip when the caller percent-encodes them", async () => {
    for (const name of ["a/b", "team/α/β", "../x"]) {
      const { client } = connect(encodeURIComponent(name));
      await client.ready;
      expect(client.name).toBe(name);
      expect(await client.call("whoami")).toBe(name);
    }
  });

  test("agentFetch reaches the agent's onRequest", async () => {
    const response = await agentFetch({ host: server.host, agent: "Counter", name: "héllo", path: "info" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: "héllo" });
    const slashed = await agentFetch({ host: server.host, agent: "Counter", name: encodeURIComponent("a/b") });
    expect(await slashed.json()).toMatchObject({ name: "a/b" });
  });
});
