/**
 * A provider that replays earlier tool calls at the start of a continuation (OpenAI's Responses API
 * does, with the original call ids): those chunks are dropped, as the Agents SDK drops them, so the
 * answer keeps one part per call and a settled call is not moved back.
 */
import { createUIMessageStream, createUIMessageStreamResponse, type UIMessage, type UIMessageChunk } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import { AIChatAgent } from "../../src/chat/index.ts";
import { ToolCallStates } from "../../src/chat/replayed-chunks.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { ChatClient, userMessage, type Frame } from "./helpers.ts";

let turns = 0;

/** First turn: a client tool call. The continuation: the call replayed with its output, then text. */
class ReplayingChat extends AIChatAgent {
  async onChatMessage() {
    const first = turns++ === 0;
    const stream = createUIMessageStream({
      execute: ({ writer }) => {
        writer.write({ type: "start" });
        writer.write({ type: "start-step" });
        if (first) writer.write({ type: "tool-input-available", toolCallId: "call_1", toolName: "getLocation", input: {} });
        else {
          writer.write({ type: "tool-input-start", toolCallId: "call_1", toolName: "getLocation" });
          writer.write({ type: "tool-input-available", toolCallId: "call_1", toolName: "getLocation", input: {} });
          writer.write({ type: "tool-output-available", toolCallId: "call_1", output: { city: "Lyon" } });
          writer.write({ type: "text-start", id: "t" });
          writer.write({ type: "text-delta", id: "t", delta: "You are in Lyon." });
          writer.write({ type: "text-end", id: "t" });
        }
        writer.write({ type: "finish-step" });
        writer.write({ type: "finish" });
      },
    });
    return createUIMessageStreamResponse({ stream });
  }

  history(): UIMessage[] {
    return this.messages;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  turns = 0;
});

describe("tool calls replayed in a continuation", () => {
  test("are neither stored twice nor sent to clients", async () => {
    t = await createTestEnv({ agents: { ReplayingChat }, time: "system" });
    const ws = (await t.url()).replace(/^http/, "ws");
    const client = await ChatClient.open(ws, "r1", "", "replaying-chat");
    await client.done(client.send([userMessage("u1", "where am I?")], { clientTools: [{ name: "getLocation" }] }));
    const from = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "call_1", toolName: "getLocation", output: { city: "Lyon" }, autoContinue: true });
    const isEnd = (f: Frame | string) => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.done === true && f.continuation === true;
    await client.socket.waitFor(isEnd, from);
    const [, answer] = (await t.get<ReplayingChat>("ReplayingChat", "r1").history()) as UIMessage[];
    const calls = answer!.parts.filter((part) => "toolCallId" in part).map((part) => `${part.type} ${(part as { state: string }).state}`);
    expect(calls).toEqual(["tool-getLocation output-available"]);
    expect(answer!.parts.some((part) => part.type === "text" && part.text === "You are in Lyon.")).toBe(true);
    const sent = client.frames
      .slice(from)
      .filter((f): f is Frame => typeof f === "object" && f.type === "cf_agent_use_chat_response" && typeof f.body === "string" && f.body.length > 0)
      .map((f) => (JSON.parse(f.body as string) as UIMessageChunk).type);
    expect(sent).not.toContain("tool-input-start");
    expect(sent).not.toContain("tool-input-available");
    expect(sent).toContain("text-delta");
  });
});

describe("ToolCallStates", () => {
  const base = {
    id: "a1",
    role: "assistant",
    parts: [
      { type: "tool-remove", toolCallId: "approved", state: "approval-responded", input: {}, approval: { id: "x", approved: true } },
      { type: "tool-search", toolCallId: "streaming", state: "input-streaming", input: undefined },
    ],
  } as unknown as UIMessage;

  test("a call the answer has, started again or asked again once settled, is a replay", () => {
    const calls = new ToolCallStates(base);
    expect(calls.isReplay({ type: "tool-approval-request", toolCallId: "approved", approvalId: "y" })).toBe(true);
    expect(calls.isReplay({ type: "tool-output-denied", toolCallId: "approved" })).toBe(true);
    expect(calls.isReplay({ type: "tool-input-start", toolCallId: "approved", toolName: "remove" })).toBe(true);
    // A call whose input is still streaming goes on; a new call is no replay.
    expect(calls.isReplay({ type: "tool-input-delta", toolCallId: "streaming", inputTextDelta: "{" })).toBe(false);
    expect(calls.isReplay({ type: "tool-input-start", toolCallId: "new", toolName: "search" })).toBe(false);
    expect(calls.isReplay({ type: "text-delta", id: "t", delta: "x" })).toBe(false);
  });

  test("follows the stream's own chunks", () => {
    const calls = new ToolCallStates(undefined);
    const start: UIMessageChunk = { type: "tool-input-start", toolCallId: "c", toolName: "search" };
    expect(calls.isReplay(start)).toBe(false);
    calls.note(start);
    expect(calls.isReplay({ type: "tool-input-available", toolCallId: "c", toolName: "search", input: {} })).toBe(false);
    calls.note({ type: "tool-input-available", toolCallId: "c", toolName: "search", input: {} });
    expect(calls.isReplay({ type: "tool-input-available", toolCallId: "c", toolName: "search", input: {} })).toBe(true);
    calls.note({ type: "tool-output-available", toolCallId: "c", output: 1 });
    expect(calls.isReplay({ type: "tool-approval-request", toolCallId: "c", approvalId: "z" })).toBe(true);
  });
});
