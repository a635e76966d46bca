// this.elicitInput(params): an McpAgent asks the client for input in the middle of a tool call (MCP
// elicitation) and continues with the answer — with the official SDK client answering.
import { Client, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { startDeskBothTransports, textOf } from "./fixtures/desk-host.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await startDeskBothTransports();
});
afterAll(() => harness.close());

/** A client that answers every question with the next of `answers`, and records the questions. */
async function answering(transport: Transport, answers: Array<{ action: "accept" | "decline" | "cancel"; content?: Record<string, number> }>) {
  const client = new Client({ name: "test", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
  const questions: string[] = [];
  client.setRequestHandler("elicitation/create", async (request) => {
    questions.push((request.params as { message: string }).message);
    return answers.shift() ?? { action: "cancel" };
  });
  await client.connect(transport);
  return { client, questions };
}

const streamable = () => new StreamableHTTPClientTransport(new URL(`${harness.url}/mcp`));

describe("McpAgent.elicitInput", () => {
  it("asks the client and continues with its answer, over Streamable HTTP", async () => {
    const { client, questions } = await answering(streamable(), [{ action: "accept", content: { amount: 5 } }, { action: "decline" }]);
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "By how much?" } }))).toBe("total 5");
    expect(questions).toEqual(["By how much?"]);
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "More?" } }))).toBe("decline: total 5");
    await client.close();
  });

  it("asks several questions in one call", async () => {
    const { client, questions } = await answering(streamable(), [{ action: "accept", content: { amount: 2 } }, { action: "accept", content: { amount: 3 } }]);
    expect(textOf(await client.callTool({ name: "add_twice", arguments: {} }))).toBe("5");
    expect(questions).toEqual(["first?", "second?"]);
    await client.close();
  });

  it("works over the legacy SSE transport", async () => {
    const { client } = await answering(new SSEClientTransport(new URL(`${harness.url}/sse`)), [{ action: "accept", content: { amount: 7 } }]);
    expect(textOf(await client.callTool({ name: "add", arguments: { question: "How much?" } }))).toBe("total 7");
    await client.close();
  });

  it("sends the question on the stream of the tool call it belongs to", async () => {
    const headers = { accept: "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-11-25" };
    const post = (body: unknown, sessionId?: string) =>
      fetch(`${harness.url}/mcp`, { method: "POST", headers: { ...headers, ...(sessionId ? { "mcp-session-id": sessionId } : {}) }, body: JSON.stringify(body) });
    const opened = await post({
      jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: { elicitation: { form: {} } }, clientInfo: { name: "raw", version: "1" } },
    });
    const sessionId = opened.headers.get("mcp-session-id")!;
    await opened.text();
    await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, sessionId)).text();

    // No GET stream is open: the question can only come on the call's own response stream.
    const call = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "add", arguments: { question: "Raw?" } } }, sessionId);
    const events = sseMessages(call.body!);
    const question = await events.next();
    expect(question).toMatchObject({ method: "elicitation/create", params: { message: "Raw?" } });
    const answered = await post({ jsonrpc: "2.0", id: (question as { id: number }).id, result: { action: "accept", content: { amount: 4 } } }, sessionId);
    expect(answered.status).toBe(202);
    expect(await events.next()).toMatchObject({ id: 2, result: { content: [{ text: "total 4" }] } });
    await events.close();
  });

  it("fails the tool call clearly when the client cannot answer questions", async () => {
    const client = new Client({ name: "mute", version: "1.0.0" });
    await client.connect(streamable());
    const result = await client.callTool({ name: "add", arguments: { question: "?" } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/elicitation/i);
    await client.close();
  });
});

/** JSON-RPC messages of an SSE body, one at a time. */
function sseMessages(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(): Promise<unknown> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
          if (data.trim() !== "") return JSON.parse(data);
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("The stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => reader.cancel(),
  };
}
