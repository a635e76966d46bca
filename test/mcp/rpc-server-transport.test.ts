// RpcServerTransport on its own, driven with raw JSON-RPC as an RpcClientTransport would: what it
// holds after requests end in every way (answered, cancelled, timed out, asking the client
// something nobody answers) — nothing that grows with use. Its timeout runs on a virtual clock.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_MCP_RPC_ABANDONED, McpServer, RpcServerTransport, rpcSessionAgentName, type McpRpcReply } from "../../src/mcp/index.ts";
import { VirtualClock } from "../../src/index.ts";

const TIMEOUT = 1_000;

/** A server with a tool that asks the client a question, and one that never answers. */
async function serve() {
  const clock = new VirtualClock();
  const server = new McpServer({ name: "held", version: "1.0.0" });
  server.registerTool("ask", { description: "Asks the client" }, async (ctx) => {
    const answer = await server.server.elicitInput(
      { message: "?", requestedSchema: { type: "object", properties: { n: { type: "number" } } } },
      { relatedRequestId: ctx.mcpReq.id },
    );
    return { content: [{ type: "text", text: answer.action }] };
  });
  server.registerTool("hang", { description: "Never answers", inputSchema: z.object({}) }, () => new Promise<never>(() => {}));
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  server.registerTool("late", { description: "Answers when released" }, async () => {
    await released;
    return { content: [{ type: "text", text: "late" }] };
  });
  // Asks, gives up on the answer at once (the SDK's own timeout), and answers the call anyway.
  server.registerTool("impatient", { description: "Asks and does not wait" }, async (ctx) => {
    const answer = await server.server
      .elicitInput({ message: "quick?", requestedSchema: { type: "object", properties: {} } }, { relatedRequestId: ctx.mcpReq.id, timeout: 1 })
      .catch(() => undefined);
    return { content: [{ type: "text", text: answer === undefined ? "no answer" : answer.action }] };
  });
  const transport = new RpcServerTransport({ timeout: TIMEOUT, clock });
  const errors: Error[] = [];
  transport.onerror = (error) => errors.push(error);
  await server.connect(transport);
  await transport.handle({
    jsonrpc: "2.0",
    id: "init",
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: { elicitation: { form: {} } }, clientInfo: { name: "raw", version: "1" } },
  });
  await transport.handle({ jsonrpc: "2.0", method: "notifications/initialized" });
  const call = (id: number, name: string) => transport.handle({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });
  const cancel = (id: number) => transport.handle({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id } });
  return { clock, server, transport, errors, call, cancel, release };
}

const first = (reply: McpRpcReply) => (Array.isArray(reply) ? reply[0] : reply) as Record<string, unknown> | undefined;

describe("RpcServerTransport holds nothing for requests that are over", () => {
  it("forgets a cancelled request and the question its handler asked", async () => {
    const { transport, call, cancel } = await serve();
    // The call returns with the handler's question; the client cancels instead of answering.
    expect(first(await call(1, "ask"))).toMatchObject({ method: "elicitation/create" });
    expect(transport.held).toMatchObject({ exchanges: 1, serverRequests: 1 });
    await cancel(1);
    expect(transport.held).toMatchObject({ exchanges: 0, serverRequests: 0, abandoned: 1 });
  });

  it("forgets a timed-out request, and drops its late answer quietly", async () => {
    const { clock, transport, errors, call, release } = await serve();
    const waiting = call(2, "late");
    await clock.advance(TIMEOUT);
    expect(first(await waiting)).toMatchObject({ id: 2, error: { code: -32001 } });
    expect(transport.held).toMatchObject({ exchanges: 0, abandoned: 1 });
    release();
    await expect.poll(() => transport.held.abandoned).toBe(0);
    expect(transport.held).toEqual({ exchanges: 0, serverRequests: 0, abandoned: 0, outbox: 0 });
    expect(errors).toEqual([]);
  });

  it("forgets the question of a request that was answered without its answer", async () => {
    const { transport, call } = await serve();
    expect(first(await call(3, "impatient"))).toMatchObject({ method: "elicitation/create" });
    // The handler stopped waiting and answered; nobody waits, so its result is held for the next call.
    await expect.poll(() => transport.held.exchanges).toBe(0);
    expect(transport.held).toMatchObject({ serverRequests: 0 });
    const carried = await transport.handle({ jsonrpc: "2.0", id: 4, method: "ping" });
    expect(carried).toEqual(expect.arrayContaining([expect.objectContaining({ id: 3, result: expect.objectContaining({ content: [{ type: "text", text: "no answer" }] }) })]));
  });

  it("keeps at most MAX_MCP_RPC_ABANDONED given-up ids", async () => {
    const { transport, call, cancel } = await serve();
    const count = MAX_MCP_RPC_ABANDONED + 50;
    for (let id = 100; id < 100 + count; id++) {
      const pending = call(id, "hang");
      await cancel(id);
      expect(await pending).toBeUndefined();
    }
    expect(transport.held).toEqual({ exchanges: 0, serverRequests: 0, abandoned: MAX_MCP_RPC_ABANDONED, outbox: 0 });
  });
});

describe("rpcSessionAgentName", () => {
  it("keeps name and session apart, readable when short, hashed when long", () => {
    expect(rpcSessionAgentName("docs", "Assistant/alice")).toBe("rpc:docs:Assistant/alice");
    // No (name, session) pair reaches another's agent, whatever `:` either holds.
    expect(rpcSessionAgentName("a:b", "c")).not.toBe(rpcSessionAgentName("a", "b:c"));
    expect(rpcSessionAgentName("a", "b:c")).toBe("rpc:a:b%3Ac");
    expect(rpcSessionAgentName("a", "50%")).toBe("rpc:a:50%25");
    const long = rpcSessionAgentName("docs", `Assistant/${"x".repeat(4_000)}`);
    expect(long).toMatch(/^rpc:docs:~[0-9a-f]{64}$/);
    expect(rpcSessionAgentName("docs", `~${long.slice(-64)}`)).not.toBe(long);
  });
});
