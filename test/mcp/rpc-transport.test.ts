// MCP over an agent binding: the official SDK Client, through RpcClientTransport, talks to a real
// McpAgent in a Hearth host — no HTTP. The binding's agent `rpc:<name>` is the server; props,
// elicitation and server notifications travel over the RPC calls.
import { Client } from "@modelcontextprotocol/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, Host } from "../../src/index.ts";
import { RpcClientTransport, type McpRequestExtra } from "../../src/mcp/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { tempDir } from "../support/harness.ts";
import { Desk, Gate, gates } from "./fixtures/desk.ts";
import { textOf } from "./fixtures/desk-host.ts";
import { Notes } from "./fixtures/notes.ts";

/** Desk with a short RPC timeout, to see what a call that outlives it gets. */
class HastyDesk extends Desk {
  protected override getRpcTransportOptions() {
    return { timeout: 50 };
  }
}

/** Not an MCP server. */
class Plain extends Agent {}

let host: Host;
let dir: { path: string; remove(): void };
const clients: Client[] = [];

beforeEach(() => {
  dir = tempDir();
  host = new Host({ dataDir: dir.path, agents: { Desk, HastyDesk, Notes, Plain } });
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await host.close();
  dir.remove();
});

const desk = () => host.env.Desk as AgentNamespace<Desk>;

async function connect(name: string, options: { props?: Record<string, unknown>; namespace?: AgentNamespace<Desk>; answers?: number[] } = {}) {
  const client = new Client({ name: "caller", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
  const questions: string[] = [];
  client.setRequestHandler("elicitation/create", async (request) => {
    questions.push((request.params as { message: string }).message);
    const amount = options.answers?.shift();
    return amount === undefined ? { action: "decline" as const } : { action: "accept" as const, content: { amount } };
  });
  await client.connect(new RpcClientTransport({ namespace: options.namespace ?? desk(), name, ...(options.props ? { props: options.props } : {}) }));
  clients.push(client);
  return { client, questions };
}

describe("RpcClientTransport → McpAgent.handleMcpMessage", () => {
  it("serves tools to the SDK client, with the transport's props as this.props", async () => {
    const { client } = await connect("docs", { props: { user: "agent-7" } });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain("whoami");
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "agent-7" });
    // The server is the agent rpc:<name> of the binding's class.
    expect(desk().exists("rpc:docs")).toBe(true);
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
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "u1" });
    expect(host.stats.liveAgents).toBe(1);
  });

  it("gives every user of a name the same server, and a client that reconnects a fresh handshake", async () => {
    const first = await connect("shared", { answers: [1] });
    await first.client.callTool({ name: "add", arguments: { question: "?" } });
    await first.client.close();
    const second = await connect("shared", { answers: [2] });
    expect(textOf(await second.client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 3");
    const other = await connect("other", { answers: [5] });
    expect(textOf(await other.client.callTool({ name: "add", arguments: { question: "?" } }))).toBe("total 5");
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
    await expect(client.callTool({ name: "wait", arguments: { gate: "hasty" } })).rejects.toThrow(/RPC transport timeout/);
    gate.release();
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toBeNull();
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
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toBeNull();
  });

  it("serves clients that negotiate the protocol version", async () => {
    const client = new Client({ name: "negotiating", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(new RpcClientTransport({ namespace: desk(), name: "negotiated" }));
    clients.push(client);
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toBeNull();
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
