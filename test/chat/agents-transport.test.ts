/**
 * Cloudflare's own chat client against Hearth: the `agents` package's `AgentClient` and
 * `WebSocketChatTransport` (what `useAgentChat` runs on), driven by the AI SDK's `AbstractChat`,
 * talking to a real Hearth server on loopback. No browser, no React: the same transport and chat
 * state machine.
 */
import { WebSocketChatTransport } from "agents/chat/transport";
import { AgentClient } from "agents/client";
import { jsonSchema, tool, type UIMessage } from "ai";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld } from "./fixture.ts";
import { NodeChat } from "./node-chat.ts";
import { Gate, messageText, scriptedModel, textStream, toolCallStream, until } from "./helpers.ts";

let t: TestEnv;
const agents: AgentClient[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.close();
  await t?.close();
});

/**
 * An AgentClient and the chat transport on it, with the glue `useAgentChat` adds: the resume
 * handshake frames are handed to the transport.
 */
async function connect(name: string): Promise<{ agent: AgentClient; transport: WebSocketChatTransport<UIMessage>; types: string[] }> {
  const agent = new AgentClient({ host: new URL(await t.url()).host, agent: "Chat", name });
  agents.push(agent);
  const transport = new WebSocketChatTransport<UIMessage>({ agent });
  const types: string[] = [];
  agent.addEventListener("message", (event: MessageEvent) => {
    if (typeof event.data !== "string") return;
    const frame = JSON.parse(event.data) as { type?: string; id?: string; probeId?: string };
    types.push(frame.type ?? "");
    if (frame.type === "cf_agent_stream_resuming") transport.handleStreamResuming({ id: frame.id!, ...(frame.probeId ? { probeId: frame.probeId } : {}) });
    if (frame.type === "cf_agent_stream_resume_none") transport.handleStreamResumeNone(frame);
    if (frame.type === "cf_agent_stream_pending") transport.handleStreamPending();
  });
  await agent.ready;
  return { agent, transport, types };
}

const lastText = (chat: NodeChat) => messageText(chat.messages.at(-1));

describe("agents/chat WebSocketChatTransport against Hearth", () => {
  test("sendMessage streams the answer; client and server agree on the message", async () => {
    resetWorld(scriptedModel(textStream("Hello from Hearth.")));
    ({ t } = await chatEnv());
    const { transport } = await connect("a1");
    const chat = new NodeChat({ transport });
    await chat.sendMessage({ text: "Hi" });
    expect(chat.status).toBe("ready");
    expect(chat.error).toBeUndefined();
    expect(chat.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(lastText(chat)).toBe("Hello from Hearth.");
    const stored = (await t.get<Chat>("Chat", "a1").history()) as UIMessage[];
    expect(stored.map((m) => m.id)).toEqual(chat.messages.map((m) => m.id));
    expect(messageText(stored[1])).toBe("Hello from Hearth.");

    // A second turn sends the whole conversation; the server keeps one row per message.
    resetWorld(scriptedModel(textStream("Again.")));
    await chat.sendMessage({ text: "Once more" });
    expect(chat.messages.map(messageText)).toEqual(["Hi", "Hello from Hearth.", "Once more", "Again."]);
    expect(await t.get<Chat>("Chat", "a1").storedRows()).toBe(4);
  });

  test("after a model call that failed before any output, the next message is answered", async () => {
    // The client keeps the empty assistant message its stream started; the server never stored one.
    let calls = 0;
    const failing = new MockLanguageModelV4({
      doStream: async () => {
        if (++calls === 1) throw new Error("invalid API key");
        return { stream: convertArrayToReadableStream(textStream("Working now.")) };
      },
    });
    resetWorld(failing);
    ({ t } = await chatEnv());
    const { transport } = await connect("a5");
    const chat = new NodeChat({ transport });
    await chat.sendMessage({ text: "Hi" });
    expect(chat.status).toBe("error");
    expect(chat.messages.at(-1)).toMatchObject({ role: "assistant", parts: [] });

    await chat.sendMessage({ text: "Try again" });
    expect(chat.error).toBeUndefined();
    expect(lastText(chat)).toBe("Working now.");
    const stored = (await t.get<Chat>("Chat", "a5").history()) as UIMessage[];
    expect(stored.map(messageText)).toEqual(["Hi", "Try again", "Working now."]);
  });

  test("a dropped socket mid-stream: resumeStream replays what was missed and follows the stream to its end", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    ({ t } = await chatEnv());
    const { agent, transport } = await connect("a2");
    const chat = new NodeChat({ transport });
    const sending = chat.sendMessage({ text: "Count for me" });
    gate.text("one ");
    await until(() => lastText(chat) === "one ", "the first word");

    agent.reconnect();
    await sending; // the local stream ends when its socket closes; the server's turn goes on
    gate.text("two ");
    await until(() => agent.readyState === WebSocket.OPEN, "the socket is back");
    const resuming = chat.resumeStream();
    await until(() => lastText(chat) === "one two ", "the replay");
    gate.text("three");
    gate.finish();
    await resuming;
    expect(chat.status).toBe("ready");
    expect(chat.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(lastText(chat)).toBe("one two three");
    const stored = (await t.get<Chat>("Chat", "a2").history()) as UIMessage[];
    expect(stored[1]!.id).toBe(chat.messages[1]!.id);
    expect(messageText(stored[1])).toBe("one two three");
  });

  test("a tool approval sent as useAgentChat does runs the tool and continues the answer", async () => {
    const removed: string[] = [];
    resetWorld(scriptedModel(toolCallStream("d1", "remove", { path: "c.txt" }), textStream("Removed c.txt.")), {
      remove: tool({
        inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } } }),
        needsApproval: true,
        execute: async ({ path }) => {
          removed.push(path);
          return { ok: true };
        },
      }),
    });
    ({ t } = await chatEnv());
    const { agent, transport, types } = await connect("a3");
    const chat = new NodeChat({ transport });
    await chat.sendMessage({ text: "remove c.txt" });
    const part = chat.messages[1]!.parts.find((p) => p.type === "tool-remove") as { state: string; toolCallId: string; approval?: { id: string } };
    expect(part.state).toBe("approval-requested");

    // What useAgentChat's addToolApprovalResponse does: tell the server (the only way an approval
    // counts), update locally, attach to the continuation.
    const release = holdTurns();
    agent.send(JSON.stringify({ type: "cf_agent_tool_approval", toolCallId: part.toolCallId, approved: true, autoContinue: true }));
    await chat.addToolApprovalResponse({ id: part.approval!.id, approved: true });
    transport.expectToolContinuation();
    const continuing = chat.resumeStream();
    await until(() => types.includes("cf_agent_stream_pending"), "the pending continuation");
    release();
    await continuing;
    await until(() => chat.status === "ready" && lastText(chat) === "Removed c.txt.", "the continued answer");
    expect(removed).toEqual(["c.txt"]);
    expect(chat.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    const stored = (await t.get<Chat>("Chat", "a3").history()) as UIMessage[];
    expect(stored).toHaveLength(2);
    expect(stored[1]!.id).toBe(chat.messages[1]!.id);
    expect(stored[1]!.parts.find((p) => p.type === "tool-remove")).toMatchObject({ state: "output-available", output: { ok: true } });
  });

  test("useAgentChat's client-tool flow: tool result frame, then a continuation stream through the transport", async () => {
    resetWorld(scriptedModel(toolCallStream("g1", "getLocation", {}), textStream("You are in Lyon.")));
    ({ t } = await chatEnv());
    const { agent, transport, types } = await connect("a4");
    const chat = new NodeChat({ transport });
    await chat.sendMessage({ text: "where am I?" }, { body: { clientTools: [{ name: "getLocation" }] } });
    const call = chat.messages[1]!.parts.find((p) => p.type === "tool-getLocation") as { state: string; toolCallId: string };
    expect(call.state).toBe("input-available");

    // What useAgentChat's addToolOutput does: tell the server, update locally, attach to the
    // continuation. The continuation waits until the transport was told it is pending.
    const release = holdTurns();
    agent.send(JSON.stringify({ type: "cf_agent_tool_result", toolCallId: call.toolCallId, toolName: "getLocation", output: { city: "Lyon" }, autoContinue: true }));
    await chat.addToolOutput({ tool: "getLocation", toolCallId: call.toolCallId, output: { city: "Lyon" } });
    transport.expectToolContinuation();
    const continuing = chat.resumeStream();
    await until(() => types.includes("cf_agent_stream_pending"), "the pending continuation");
    release();
    await continuing;
    expect(chat.error).toBeUndefined();
    expect(messageText(chat.messages.at(-1))).toContain("You are in Lyon.");
    const stored = (await t.get<Chat>("Chat", "a4").history()) as UIMessage[];
    expect(stored).toHaveLength(2);
    expect(stored[1]!.parts.find((p) => p.type === "tool-getLocation")).toMatchObject({ state: "output-available", output: { city: "Lyon" } });
    expect(messageText(stored[1])).toBe("You are in Lyon.");
  });
});
