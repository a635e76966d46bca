/** Hearth's own client (`hearth/client`) against a real Hearth server. */
import { AgentClient as CloudflareAgentClient } from "agents/client";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { AgentCallError, AgentClient, agentFetch, camelCaseToKebabCase } from "../../src/client/index.ts";
import type { CounterState, RunningServer } from "./fixture.ts";
import { startServer } from "./fixture.ts";
import { AWKWARD_NAMES, Inbox, uniqueName } from "./helpers.ts";

interface CounterMethods {
  increment(by?: number): number;
  getCount(): number;
  whoami(): string;
}
type Update = { state: CounterState; source: "server" | "client" };
type Client = AgentClient<CounterState, CounterMethods>;

let server: RunningServer;
const open: Client[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await server.close();
});

function connect(name: string, extra: { agent?: string; maxRetries?: number } = {}) {
  const updates = new Inbox<Update>();
  const identities = new Inbox<{ name: string; agent: string }>();
  const raw = new Inbox<string>();
  const client: Client = new AgentClient<CounterState, CounterMethods>({
    host: server.url,
    agent: extra.agent ?? "Counter",
    name,
    maxRetries: extra.maxRetries,
    onStateUpdate: (state, source) => updates.push({ state, source }),
    onIdentity: (n, agent) => identities.push({ name: n, agent }),
  });
  client.addEventListener("message", (event) => {
    if (typeof event.data === "string") raw.push(event.data);
  });
  open.push(client);
  return { client, updates, identities, raw };
}

describe("hearth/client AgentClient", () => {
  test("handles the identity and state frames", async () => {
    const name = uniqueName("identity");
    const { client, updates, identities, raw } = connect(name);
    expect(await identities.next()).toEqual({ name, agent: "counter" });
    expect(await updates.next()).toEqual({ state: { count: 0 }, source: "server" });
    await client.ready;
    expect(JSON.parse(raw.seen[0] ?? "null")).toMatchObject({ type: "cf_agent_identity", name, agent: "counter" });
    expect(JSON.parse(raw.seen[1] ?? "null")).toEqual({ type: "cf_agent_state", state: { count: 0 } });
    expect(client.identified).toBe(true);
    expect(client.state).toEqual({ count: 0 });
  });

  test("connects to multi-word classes by their kebab-case name", async () => {
    const { client, identities } = connect(uniqueName("room"), { agent: "ChatRoom" });
    expect((await identities.next()).agent).toBe("chat-room");
    expect(await client.call("whoami")).toBe(client.name);
  });

  test("call() and stub reach callables; the stub is not thenable", async () => {
    const { client } = connect(uniqueName("call"));
    expect(await client.call<number>("increment", [2])).toBe(2);
    expect(await client.stub.increment(3)).toBe(5);
    expect(await client.stub.getCount()).toBe(5);
    expect((client.stub as unknown as Record<string, unknown>).then).toBeUndefined();
    expect(await Promise.resolve(client.stub)).toBe(client.stub);
  });

  test("receives state broadcasts caused by another client", async () => {
    const name = uniqueName("broadcast");
    const a = connect(name);
    const b = connect(name);
    await Promise.all([a.client.ready, b.client.ready, b.updates.next()]);
    await a.client.stub.increment(7);
    expect(await b.updates.until((u) => u.state.count === 7)).toEqual({ state: { count: 7 }, source: "server" });
  });

  test("setState reaches other clients and the agent, and is reported as a client update", async () => {
    const name = uniqueName("set-state");
    const a = connect(name);
    const b = connect(name);
    await Promise.all([a.client.ready, b.client.ready, a.updates.next(), b.updates.next()]);
    a.client.setState({ count: 42 });
    expect(await a.updates.next()).toEqual({ state: { count: 42 }, source: "client" });
    expect(a.client.state).toEqual({ count: 42 });
    expect(await b.updates.next()).toEqual({ state: { count: 42 }, source: "server" });
    expect(await a.client.stub.getCount()).toBe(42);
    expect(a.updates.seen.filter((u) => u.source === "server" && u.state.count === 42)).toEqual([]);
  });

  test("streams chunks, then resolves with the final value", async () => {
    const { client } = connect(uniqueName("stream"));
    const chunks: unknown[] = [];
    const done: unknown[] = [];
    const result = await client.call("countdown", [3], {
      onChunk: (chunk) => chunks.push(chunk),
      onDone: (value) => done.push(value),
    });
    expect({ chunks, done, result }).toEqual({ chunks: [3, 2, 1], done: ["liftoff"], result: "liftoff" });
    const nested: unknown[] = [];
    await client.call("countdown", [2], { stream: { onChunk: (chunk) => nested.push(chunk) } });
    expect(nested).toEqual([2, 1]);
  });

  test("a streaming error rejects the call and reaches onError", async () => {
    const { client } = connect(uniqueName("stream-error"));
    const errors: string[] = [];
    const call = client.call("failStream", [], { onError: (message) => errors.push(message) });
    await expect(call).rejects.toThrow("stream broke");
    expect(errors).toEqual(["stream broke"]);
  });

  test("errors carry the server's message", async () => {
    const { client } = connect(uniqueName("errors"));
    const unknown = await client.call("noSuchMethod").catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(AgentCallError);
    expect((unknown as AgentCallError).method).toBe("noSuchMethod");
    expect((unknown as Error).message).toMatch(/noSuchMethod/);
    await expect(client.call("secret")).rejects.toThrow(/secret/);
    await expect(client.call("fail")).rejects.toThrow("boom");
  });

  test("frames the client does not handle reach message listeners unchanged", async () => {
    const name = uniqueName("passthrough");
    const { client, raw } = connect(name);
    await client.ready;
    await client.call("shout", ["hello"]);
    expect(await raw.until((text) => text.includes('"shout"'))).toBe(JSON.stringify({ type: "shout", text: "hello" }));
  });

  test("pending calls reject when the server closes the socket", async () => {
    const name = uniqueName("kick");
    const victim = connect(name, { maxRetries: 0 });
    const kicker = connect(name);
    await Promise.all([victim.client.ready, kicker.client.ready]);
    const pending = victim.client.call("waitForGate");
    // Watched from now on: the socket may close before the kick's own reply arrives.
    const rejected = expect(pending).rejects.toThrow("Connection closed");
    await victim.client.stub.getCount(); // the gated call has reached the agent by now
    await kicker.client.call("kick").catch(() => undefined);
    await rejected;
  });

  test("pending calls reject when the client closes, and later calls fail fast", async () => {
    const { client } = connect(uniqueName("close"));
    await client.ready;
    const pending = client.call("waitForGate");
    client.close();
    await expect(pending).rejects.toThrow("Connection closed");
    await expect(client.call("getCount")).rejects.toThrow("Connection closed");
  });

  test.each(AWKWARD_NAMES.map((name) => [name.length > 40 ? `${name.slice(0, 20)}… (${name.length})` : name, name]))(
    "instance name %j round-trips",
    async (_label, name) => {
      const { client, identities } = connect(name);
      expect((await identities.next()).name).toBe(name);
      expect(await client.stub.whoami()).toBe(name);
      const response = await agentFetch({ host: server.url, agent: "Counter", name, path: "info" });
      expect(await response.json()).toMatchObject({ name });
    },
  );

  test('refuses the names "." and ".." that URLs cannot carry', async () => {
    expect(() => new AgentClient({ host: server.url, agent: "Counter", name: "..", startClosed: true })).toThrow(
      RangeError,
    );
    await expect(agentFetch({ host: server.url, agent: "Counter", name: "." })).rejects.toThrow(RangeError);
  });
});

describe("camelCaseToKebabCase", () => {
  const samples = [
    "Counter",
    "ChatRoom",
    "MyMCPServer",
    "MCP",
    "MY_AGENT",
    "my_agent",
    "My_Agent",
    "_Private",
    "Trailing_",
    "already-kebab",
    "lower",
    "A",
    "HTTPServer2",
    "Agent42Thing",
    "ÜberAgent",
    "ÉCOLE",
    "",
  ];

  test("maps class names to URL segments", () => {
    expect(camelCaseToKebabCase("ChatRoom")).toBe("chat-room");
    expect(camelCaseToKebabCase("MY_AGENT")).toBe("my-agent");
  });

  test.each(samples)("matches the agents package for %j", (sample) => {
    const reference = new CloudflareAgentClient({ host: "127.0.0.1:1", agent: sample, startClosed: true });
    expect(camelCaseToKebabCase(sample)).toBe(reference.agent);
    reference.close();
  });
});
