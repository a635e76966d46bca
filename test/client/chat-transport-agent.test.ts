/**
 * `AgentChatTransport` (what `useAgentChat` runs on) against a real Hearth server with an
 * `AIChatAgent` on the offline demo model: a turn streams and is stored, a second connection
 * joins a running turn, a dropped connection re-attaches mid-turn without repeating chunks, and an
 * approval's continuation arrives as frames of a turn the transport does not read, and a connection
 * following another client's turn (as `useAgentChat` does) that drops and comes back as the turn
 * ends has the whole answer the moment it stops following. The running
 * turns come from a model the test feeds by hand, so they run exactly as long as the test needs.
 */
import { convertToModelMessages, stepCountIs, streamText, tool, type UIMessage, type UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { AIChatAgent, createDemoModel, type ChatFinishCallback, type OnChatMessageOptions } from "../../src/chat/index.ts";
import { AgentChatTransport, type ChatConnection } from "../../src/client/chat-transport.ts";
import { readChatFrame, toolApprovalFrame, type ChatResponseFrame } from "../../src/client/chat-protocol.ts";
import type { AgentClient } from "../../src/client/index.ts";
import { TurnObserver } from "../../src/react/chat-observer.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Gate, scriptedModel } from "../chat/helpers.ts";
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

/** Model streams for `Held`, one per turn, in order: the test sends each piece of text. */
const gates: Gate[] = [];

class Held extends AIChatAgent<Record<string, string>> {
  override async onChatMessage(onFinish: ChatFinishCallback, { abortSignal }: OnChatMessageOptions): Promise<Response> {
    const gate = gates.shift();
    if (gate === undefined) throw new Error("no gate for this turn");
    return streamText({
      model: scriptedModel(gate.stream),
      messages: await convertToModelMessages(this.messages),
      abortSignal,
      onFinish,
    }).toUIMessageStreamResponse();
  }
}

function hold(): Gate {
  const gate = new Gate();
  gates.push(gate);
  return gate;
}

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv({ agents: { Assistant, Held }, time: "system" });
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

async function storedText(name: string, agent = "assistant"): Promise<string> {
  const messages = (await (await t.fetch(`/agents/${agent}/${name}/get-messages`)).json()) as UIMessage[];
  const last = messages.at(-1)!;
  return last.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}


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
    const gate = hold();
    const first = await t.connect("Held", name);
    const stream = await send(new AgentChatTransport({ agent: first }), [said("Tell me")]);
    const started = new Inbox<UIMessageChunk>();
    const own = readAll(stream, started.push);
    gate.text("one ");
    await started.until((chunk) => chunk.type === "text-delta");
    const second = await t.connect("Held", name);
    const replayed = new Inbox<ChatResponseFrame>();
    second.addEventListener("message", (event) => {
      const frame = readChatFrame((event as MessageEvent).data);
      if (frame?.type === "cf_agent_use_chat_response" && frame.replay) replayed.push(frame);
    });
    const joined = await new AgentChatTransport({ agent: second }).reconnectToStream({ chatId: "c" });
    expect(joined).not.toBeNull();
    // The turn is still held: what the second connection has so far can only be a replay.
    await replayed.until((frame) => frame.replayComplete === true);
    gate.text("two ");
    gate.finish();
    const [mine, theirs] = await Promise.all([own, readAll(joined!)]);
    expect(textOf(mine)).toBe("one two ");
    expect(theirs).toEqual(mine);
  });

  test("a connection that drops mid-turn re-attaches and reads every chunk once", async () => {
    const name = uniqueName("drop");
    const gate = hold();
    const client: AgentClient = await t.connect("Held", name);
    const replayed = new Inbox<ChatResponseFrame>();
    client.addEventListener("message", (event) => {
      const frame = readChatFrame((event as MessageEvent).data);
      if (frame?.type === "cf_agent_use_chat_response" && frame.replay) replayed.push(frame);
    });
    const transport = new AgentChatTransport({ agent: client });
    const received = new Inbox<UIMessageChunk>();
    const all = readAll(await send(transport, [said("Tell me")]), received.push);
    gate.text("before ");
    await received.until((chunk) => chunk.type === "text-delta");
    client.reconnect();
    // The turn is held while the connection comes back: the agent replays it from its first chunk.
    await replayed.until((frame) => frame.replayComplete === true);
    gate.text("after ");
    gate.finish();
    const chunks = await all;
    expect(textOf(chunks)).toBe("before after ");
    expect(textOf(chunks)).toBe(await storedText(name, "held"));
    expect(chunks.filter((chunk) => chunk.type === "start")).toHaveLength(1);
    expect(replayed.seen.length).toBeGreaterThan(0);
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

  test("a connection following another client's turn drops, the turn ends during the resume handshake: it ends with the whole answer", async () => {
    const name = uniqueName("follow");
    const gate = hold();
    const writer = await t.connect("Held", name);

    // The reader follows the turn as useAgentChat does: a transport for its own turns, an observer for the others.
    const reader: AgentClient = await t.connect("Held", name);
    let transcript: UIMessage[] = [];
    const shown = new Inbox<string>();
    /** The transcript's text each time the observer says it stopped following a turn. */
    const settled = new Inbox<string>();
    const observer = new TurnObserver<UIMessage>({
      messages: () => transcript,
      update: (change) => {
        transcript = change(transcript);
        shown.push(lastText(transcript));
      },
      activeChanged: (active) => {
        if (!active) settled.push(lastText(transcript));
      },
      joinLate: () => {},
      data: () => {},
      generateId: () => crypto.randomUUID(),
    });
    // The acknowledgement of the resumed stream is held back until the turn has ended.
    const heldAcks: string[] = [];
    const connection: ChatConnection = {
      send: (data) => (data.includes('"cf_agent_stream_resume_ack"') ? void heldAcks.push(data) : reader.send(data)),
      addEventListener: (type, listener) => reader.addEventListener(type, listener),
      removeEventListener: (type, listener) => reader.removeEventListener(type, listener),
      get shouldReconnect() {
        return reader.shouldReconnect;
      },
    };
    const transport = new AgentChatTransport({ agent: connection, onUnownedFrame: (frame) => observer.handle(frame) });
    const acked = new Inbox<string>();
    reader.addEventListener("close", () => observer.interrupt());
    reader.addEventListener("open", () => {
      void transport.probe().then((id) => {
        if (id !== null && observer.isInterrupted(id)) {
          observer.reattach(id);
          transport.ack(id);
          acked.push(id);
        }
        observer.endInterrupted();
      });
    });

    const written = readAll(await send(new AgentChatTransport({ agent: writer }), [said("Tell me")]));
    gate.text("one ");
    await shown.until((text) => text === "one ");
    reader.reconnect();
    await acked.next();
    expect(heldAcks).toHaveLength(1);
    gate.text("two ");
    gate.text("three.");
    gate.finish();
    expect(textOf(await written)).toBe("one two three.");
    for (const ack of heldAcks) reader.send(ack);

    // The replay and the end arrive together: the observer says it stopped following only once they are all in.
    expect(await settled.next()).toBe("one two three.");
    expect(await storedText(name, "held")).toBe("one two three.");
    reader.close();
    writer.close();
  });
});

function lastText(messages: UIMessage[]): string {
  return (messages.at(-1)?.parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
}
