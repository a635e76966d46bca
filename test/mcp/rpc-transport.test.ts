// MCP over an agent binding: the official SDK Client, through RpcClientTransport, talks to a real
// McpAgent in a Hearth host — no HTTP. Each client session is the binding's agent
// `rpc:<name>:<session>`; props, elicitation and server notifications travel over the RPC calls.
import { Client } from "@modelcontextprotocol/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, Host, VirtualClock } from "../../src/index.ts";
import { RpcClientTransport, type McpRequestExtra } from "../../src/mcp/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { tempDir } from "../support/harness.ts";
import { Desk, Gate, gates } from "./fixtures/desk.ts";
import { textOf } from "./fixtures/desk-host.ts";
import { Notes } from "./fixtures/notes.ts";

/** Desk with a shorter RPC timeout (run on a virtual clock), to see what a call that outlives it gets. */
class HastyDesk extends Desk {
  protected override getRpcTransportOptions() {
    return { timeout: 5_000 };
  }
}

/** Not an MCP server. */
class Plain extends Agent {}

let host: Host;
let dir: { path: string; remove(): void };
/** The host's time: it moves only when a test advances it (the RPC timeout runs on it). */
let clock: VirtualClock;
const clients: Client[] = [];

beforeEach(() => {
  dir = tempDir();
  clock = new VirtualClock();
  host = new Host({ dataDir: dir.path, agents: { Desk, HastyDesk, Notes, Plain }, clock });
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await host.close();
  clock.dispose();
  dir.remove();
});

const desk = () => host.env.Desk as AgentNamespace<Desk>;

async function connect(
  name: string,
  options: { props?: Record<string, unknown>; namespace?: AgentNamespace<Desk>; answers?: number[]; session?: string } = {},
) {
  const client = new Client({ name: "caller", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
  const questions: string[] = [];
  client.setRequestHandler("elicitation/create", async (request) => {
    questions.push((request.params as { message: string }).message);
    const amount = options.answers?.shift();
    return amount === undefined ? { action: "decline" as const } : { action: "accept" as const, content: { amount } };
  });
  const transport = new RpcClientTransport({
    namespace: options.namespace ?? desk(),
    name,
    ...(options.props ? { props: options.props } : {}),
    ...(options.session ? { session: options.session } : {}),
  });
  await client.connect(transport);
  clients.push(client);
  return { client, questions, transport };
}

const whoami = async (client: Client) => JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} }))) as unknown;

describe("RpcClientTransport → McpAgent.handleMcpMessage", () => {
  it("serves tools to the SDK client, with the transport's props as this.props", async () => {
    const { client, transport } = await connect("docs", { props: { user: "agent-7" } });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain("whoami");
    expect(await whoami(client)).toEqual({ user: "agent-7" });
    // The server is the agent rpc:<name>:<session> of the binding's class (outside an agent: a session of its own).
    expect(transport.agentName).toMatch(/^rpc:docs:[0-9a-f-]{36}$/);
    expect(desk().exists(transport.agentName)).toBe(true);
    // No HTTP request behind an RPC call: no requestInfo, the request id still.
    const seen = JSON.parse(textOf(await client.callTool({ name: "headers", arguments: {} }))) as McpRequestExtra;
    expect(seen.requestInfo).toBeNull();
    expect(seen.requestId).not.toBeNull();
  });

  it("carries elicitation: the question comes back as the call's reply, the answer's reply is the result", async () => {
    const { client, questions } = await connect("desk", { answers: [4, 2, 3] });
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "How much?" } }))).toBe("total 4");
    expect(textOf(await client.callTool({ name: "add_twice", arguments: {} }))).toBe("5");
    expect(questions).toEqual(["How much?", "first?", "second?"]);
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "Again?" } }))).toBe("decline: total 4");
  });

  it("keeps the session and its props across hibernation (the handshake is replayed)", async () => {
    const { client } = await connect("sleepy", { props: { user: "u1" }, answers: [10] });
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 10");
    await expect.poll(() => (host.hibernateIdleAgents(), host.stats.liveAgents)).toBe(0);
    expect(await whoami(client)).toEqual({ user: "u1" });
    expect(host.stats.liveAgents).toBe(1);
  });

  it("gives each client its own session: props, request ids and cancellations never cross", async () => {
    const alice = await connect("docs", { props: { user: "alice" } });
    const bob = await connect("docs", { props: { user: "bob" } });
    expect(alice.transport.agentName).not.toBe(bob.transport.agentName);
    expect(await whoami(alice.client)).toEqual({ user: "alice" });
    expect(await whoami(bob.client)).toEqual({ user: "bob" });

    // Both clients number their requests alike: the same id is in progress in both sessions at once.
    const gateA = new Gate();
    const gateB = new Gate();
    gates.set("alice", gateA);
    gates.set("bob", gateB);
    const aliceCall = alice.client.callTool({ name: "wait", arguments: { gate: "alice" } });
    await gateA.entered;
    const hangUp = new AbortController();
    const bobCall = bob.client.callTool({ name: "wait", arguments: { gate: "bob" } }, { signal: hangUp.signal });
    await gateB.entered;
    // Bob's cancellation reaches Bob's request only.
    hangUp.abort();
    await expect(bobCall).rejects.toThrow();
    gateA.release();
    expect(textOf(await aliceCall)).toBe("released alice");
    gateB.release();
  });

  it("reaches a named session again, after its client closed; an unnamed one ends with its transport", async () => {
    const first = await connect("shared", { answers: [1], session: "team:red" });
    await first.client.callTool({ name: "add", arguments: { question: "?" } });
    await first.client.close();
    // A reconnecting client handshakes again and finds the session's state.
    const second = await connect("shared", { answers: [2], session: "team:red" });
    expect(second.transport.agentName).toBe("rpc:shared:team%3Ared");
    expect(textOf(await second.client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 3");
    const other = await connect("shared", { answers: [5], session: "team:blue" });
    expect(textOf(await other.client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 5");

    const passing = await connect("shared", { answers: [7] });
    expect(textOf(await passing.client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 7");
    await passing.client.close();
    expect(desk().exists(passing.transport.agentName)).toBe(false);
    expect(desk().exists(second.transport.agentName)).toBe(true);
  });

  it("delivers server notifications that belong to no request with the next reply", async () => {
    const { client } = await connect("growing");
    let changed = 0;
    client.setNotificationHandler("notifications/tools/list_changed", async () => {
      changed++;
    });
    const before = (await client.listTools()).tools.length;
    expect(textOf(await client.callTool({ name: "grow", arguments: {} }))).toBe("grown");
    await expect.poll(() => changed).toBe(1);
    expect((await client.listTools()).tools.length).toBe(before + 1);
  });

  it("answers a call the server does not finish in time with a timeout error, and keeps serving", async () => {
    const { client } = await connect("hasty", { namespace: host.env.HastyDesk as AgentNamespace<Desk> });
    const gate = new Gate();
    gates.set("hasty", gate);
    const call = client.callTool({ name: "wait", arguments: { gate: "hasty" } });
    const outcome = call.then(() => "answered", (error: unknown) => (error as Error).message);
    await gate.entered;
    await clock.advance(5_000);
    expect(await outcome).toMatch(/no answer from the MCP server within 5000 ms \(RPC transport timeout\)/);
    // The handler's late answer is dropped; the session goes on (time stands still: no timeout races it).
    gate.release();
    expect(await whoami(client)).toBeNull();
  });

  it("lets a client cancel a call: the server stops waiting on it and the agent can leave memory", async () => {
    const { client } = await connect("cancelled");
    const gate = new Gate();
    gates.set("cancel", gate);
    const controller = new AbortController();
    const pending = client.callTool({ name: "wait", arguments: { gate: "cancel" } }, { signal: controller.signal });
    await gate.entered;
    controller.abort();
    await expect(pending).rejects.toThrow();
    gate.release();
    await expect.poll(() => (host.hibernateIdleAgents(), host.stats.liveAgents)).toBe(0);
    expect(await whoami(client)).toBeNull();
  });

  it("serves clients that negotiate the protocol version", async () => {
    const client = new Client({ name: "negotiating", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(new RpcClientTransport({ namespace: desk(), name: "negotiated" }));
    clients.push(client);
    expect(await whoami(client)).toBeNull();
  });

  it("refuses what is not MCP over RPC, clearly", async () => {
    expect(() => new RpcClientTransport({ namespace: {} as AgentNamespace<Desk>, name: "x" })).toThrow(/agent binding from env/);
    expect(() => new RpcClientTransport({ namespace: host.env.Notes as AgentNamespace<Desk>, name: "" })).toThrow(/non-empty string/);
    expect(() => new RpcClientTransport({ namespace: host.env.Plain as AgentNamespace<Desk>, name: "x" })).toThrow(/env\.Plain is not an McpAgent/);
    // A session agent of the HTTP endpoint is not an RPC server.
    await expect(desk().getByName("streamable-http:abc").handleMcpMessage({ jsonrpc: "2.0", id: 1, method: "ping" })).rejects.toThrow(
      /handleMcpMessage serves MCP over RPC, to agents named "rpc:<name>"/,
    );
    // Not JSON-RPC: an Invalid Request answer, and the server keeps serving.
    const stub = desk().getByName("rpc:strict");
    expect(await stub.handleMcpMessage({ id: 3, nonsense: true } as never)).toMatchObject({ id: 3, error: { code: -32600 } });
    expect(await stub.handleMcpMessage([])).toMatchObject({ error: { code: -32600 } });
    expect(await stub.handleMcpMessage({ jsonrpc: "2.0", id: 4, method: "ping" })).toEqual({ jsonrpc: "2.0", id: 4, result: {} });
  });
});
