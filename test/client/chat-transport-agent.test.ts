/**
 * `AgentChatTransport` (what `useAgentChat` runs on) against a real Hearth server with an
 * `AIChatAgent` on the offline demo model: a turn streams and is stored, a second connection
 * joins a running turn, a dropped connection re-attaches mid-turn without repeating chunks, and an
 * approval's continuation arrives as frames of a turn the transport does not read.
 */
import { convertToModelMessages, stepCountIs, streamText, tool, type UIMessage, type UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { AIChatAgent, createDemoModel, type ChatFinishCallback, type OnChatMessageOptions } from "../../src/chat/index.ts";
import { AgentChatTransport } from "../../src/client/chat-transport.ts";
import { toolApprovalFrame, type ChatResponseFrame } from "../../src/client/chat-protocol.ts";
import type { AgentClient } from "../../src/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Inbox, uniqueName } from "./helpers.ts";

class Assistant extends AIChatAgent<Record<string, string>> {
  override async onChatMessage(onFinish: ChatFinishCallback, { abortSignal }: OnChatMessageOptions): Promise<Response> {
    return streamText({
      model: createDemoModel({ wordDelayMs: 15 }),
      messages: await convertToModelMessages(this.messages),
      tools: {
        delete_note: tool({
          description: "Delete a note",
          inputSchema: z.object({ title: z.string() }),
          needsApproval: true,
          execute: async ({ title }) => ({ deleted: title }),
        }),
      },
      stopWhen: stepCountIs(3),
      abortSignal,
      onFinish,
    }).toUIMessageStreamResponse();
  }
}

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
});
afterAll(async () => {
  await t.close();
});

const said = (text: string): UIMessage => ({ id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] });

async function readAll(stream: ReadableStream<UIMessageChunk>, onChunk?: (chunk: UIMessageChunk) => void): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    onChunk?.(chunk);
  }
  return chunks;
}

const textOf = (chunks: UIMessageChunk[]): string =>
  chunks.map((chunk) => (chunk.type === "text-delta" ? chunk.delta : "")).join("");

function send(transport: AgentChatTransport, messages: UIMessage[]): Promise<ReadableStream<UIMessageChunk>> {
  return transport.sendMessages({ chatId: "c", messages, trigger: "submit-message", messageId: undefined, abortSignal: undefined });
}

async function storedText(name: string): Promise<string> {
  const messages = (await (await t.fetch(`/agents/assistant/${name}/get-messages`)).json()) as UIMessage[];
  const last = messages.at(-1)!;
  return last.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}

/** Long enough (about a second of streaming) for a reconnect to happen mid-answer. */
const LONG = Array.from({ length: 50 }, (_, i) => `w${i}`).join(" ");

describe("AgentChatTransport against an AIChatAgent", () => {
  test("streams a turn; the agent stores the same answer", async () => {
    const name = uniqueName("turn");
    const client = await t.connect("Assistant", name);
    const transport = new AgentChatTransport({ agent: client });
    const chunks = await readAll(await send(transport, [said("Hello")]));
    expect(chunks[0]).toMatchObject({ type: "start", messageId: expect.any(String) });
    expect(textOf(chunks)).toContain('You said: "Hello".');
    expect(await storedText(name)).toBe(textOf(chunks));
  });

  test("a second connection joins the running turn with reconnectToStream", async () => {
    const name = uniqueName("join");
    const first = await t.connect("Assistant", name);
    const stream = await send(new AgentChatTransport({ agent: first }), [said(LONG)]);
    const started = new Inbox<UIMessageChunk>();
    const own = readAll(stream, started.push);
    await started.until((chunk) => chunk.type === "text-delta");
    const second = await t.connect("Assistant", name);
    const joined = await new AgentChatTransport({ agent: second }).reconnectToStream({ chatId: "c" });
    expect(joined).not.toBeNull();
    const [mine, theirs] = await Promise.all([own, readAll(joined!)]);
    expect(theirs).toEqual(mine);
  });

  test("a connection that drops mid-turn re-attaches and reads every chunk once", async () => {
    const name = uniqueName("drop");
    const client: AgentClient = await t.connect("Assistant", name);
    const transport = new AgentChatTransport({ agent: client });
    const received = new Inbox<UIMessageChunk>();
    const all = readAll(await send(transport, [said(LONG)]), received.push);
    await received.until((chunk) => chunk.type === "text-delta" && chunk.delta.startsWith("You"));
    client.reconnect();
    const chunks = await all;
    expect(textOf(chunks)).toContain(`You said: "${LONG}".`);
    expect(textOf(chunks)).toBe(await storedText(name));
    expect(chunks.filter((chunk) => chunk.type === "start")).toHaveLength(1);
  });

  test("after an approval, the continuation arrives as frames of a turn the transport does not read", async () => {
    const name = uniqueName("approve");
    const client = await t.connect("Assistant", name);
    const unowned = new Inbox<ChatResponseFrame>();
    const transport = new AgentChatTransport({ agent: client, onUnownedFrame: unowned.push });
    const chunks = await readAll(await send(transport, [said('Please delete_note "groceries"')]));
    const request = chunks.find((chunk) => chunk.type === "tool-approval-request");
    expect(request).toMatchObject({ toolCallId: expect.any(String), approvalId: expect.any(String) });
    client.send(toolApprovalFrame({ toolCallId: (request as { toolCallId: string }).toolCallId, approved: true, autoContinue: true }));
    const done = await unowned.until((frame) => frame.done);
    const bodies = unowned.seen.filter((frame) => frame.body !== "").map((frame) => JSON.parse(frame.body) as UIMessageChunk);
    expect(unowned.seen.every((frame) => frame.continuation === true && frame.id === done.id)).toBe(true);
    expect(bodies[0]).toEqual({ type: "start" });
    expect(bodies).toContainEqual(expect.objectContaining({ type: "tool-output-available", output: { deleted: "groceries" } }));
    expect(textOf(bodies)).toContain('The delete_note tool says: {"deleted":"groceries"}');
  });
});
