/**
 * `AgentChatTransport` frame by frame, against a scripted socket: requests, chunk streams, resume
 * handshakes, re-attaching after a dropped connection, aborts and errors.
 */
import type { UIMessage, UIMessageChunk } from "ai";
import { describe, expect, test, vi } from "vitest";
import { AgentChatTransport } from "../../src/client/chat-transport.ts";
import { readChatFrame, type ChatResponseFrame } from "../../src/client/chat-protocol.ts";

class FakeSocket extends EventTarget {
  readonly sent: Array<Record<string, unknown>> = [];
  shouldReconnect: boolean | undefined = true;
  #open = true;

  send(data: string): boolean {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
    return this.#open;
  }

  receive(frame: Record<string, unknown>): void {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(frame) }));
  }

  chunk(id: string, chunk: UIMessageChunk, extra: Record<string, unknown> = {}): void {
    this.receive({ type: "cf_agent_use_chat_response", id, body: JSON.stringify(chunk), done: false, ...extra });
  }

  done(id: string, extra: Record<string, unknown> = {}): void {
    this.receive({ type: "cf_agent_use_chat_response", id, body: "", done: true, ...extra });
  }

  drop(): void {
    this.#open = false;
    this.dispatchEvent(new Event("close"));
  }

  reopen(): void {
    this.#open = true;
    this.dispatchEvent(new Event("open"));
  }

  last(type: string): Record<string, unknown> {
    const frame = this.sent.findLast((candidate) => candidate.type === type);
    if (frame === undefined) throw new Error(`no ${type} frame was sent`);
    return frame;
  }
}

const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "Hello" }] };

async function readAll(stream: ReadableStream<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function send(transport: AgentChatTransport, abortSignal?: AbortSignal): Promise<ReadableStream<UIMessageChunk>> {
  return transport.sendMessages({ chatId: "c", messages: [user], trigger: "submit-message", messageId: undefined, abortSignal });
}

const text = (delta: string, id = "t"): UIMessageChunk => ({ type: "text-delta", id, delta });
/** Lets the transport act on an answer it awaits. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("AgentChatTransport", () => {
  test("sends a turn as cf_agent_use_chat_request and streams its chunks until done", async () => {
    const socket = new FakeSocket();
    const asked: unknown[] = [];
    const transport = new AgentChatTransport({
      agent: socket,
      body: (request) => {
        asked.push(request);
        return { timezone: "UTC" };
      },
    });
    const stream = await transport.sendMessages({
      chatId: "c",
      messages: [user],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
      body: { extra: 1 },
    });
    const request = socket.last("cf_agent_use_chat_request");
    const id = request.id as string;
    expect(request.init).toMatchObject({ method: "POST" });
    expect(JSON.parse((request.init as { body: string }).body)).toEqual({
      messages: [user],
      trigger: "submit-message",
      timezone: "UTC",
      extra: 1,
    });
    expect(asked).toEqual([{ chatId: "c", messages: [user], trigger: "submit-message", messageId: undefined }]);
    socket.chunk(id, { type: "start", messageId: "a1" }, { seq: 0 });
    socket.chunk(id, text("Hi"), { seq: 1 });
    socket.done(id);
    expect(await readAll(stream)).toEqual([{ type: "start", messageId: "a1" }, text("Hi")]);
    expect(transport.activeTurnIds).toEqual([]);
  });

  test("passes frames of turns it does not read to onUnownedFrame, and drops late frames of its own", async () => {
    const socket = new FakeSocket();
    const unowned: ChatResponseFrame[] = [];
    const transport = new AgentChatTransport({ agent: socket, onUnownedFrame: (frame) => unowned.push(frame) });
    const stream = await send(transport);
    const id = socket.last("cf_agent_use_chat_request").id as string;
    socket.done(id);
    await readAll(stream);
    socket.chunk(id, text("late"));
    socket.chunk("other", { type: "start" }, { continuation: true, seq: 0 });
    expect(unowned).toEqual([
      { type: "cf_agent_use_chat_response", id: "other", body: '{"type":"start"}', done: false, continuation: true, seq: 0 },
    ]);
  });

  test("an error frame ends the stream with an error chunk", async () => {
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket });
    const stream = await send(transport);
    const id = socket.last("cf_agent_use_chat_request").id as string;
    socket.chunk(id, text("partial"));
    socket.receive({ type: "cf_agent_use_chat_response", id, body: "model overloaded", done: true, error: true });
    expect(await readAll(stream)).toEqual([text("partial"), { type: "error", errorText: "model overloaded" }]);
  });

  test("reconnectToStream joins the running turn: resume request, resuming, ack, replayed chunks", async () => {
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket });
    const joined = transport.reconnectToStream({ chatId: "c" });
    const probe = socket.last("cf_agent_stream_resume_request");
    socket.receive({ type: "cf_agent_stream_pending", probeId: probe.probeId });
    socket.receive({ type: "cf_agent_stream_resuming", id: "r1", probeId: probe.probeId });
    const stream = await joined;
    expect(stream).not.toBeNull();
    expect(socket.last("cf_agent_stream_resume_ack")).toEqual({ type: "cf_agent_stream_resume_ack", id: "r1" });
    socket.chunk("r1", { type: "start", messageId: "a1" }, { replay: true, seq: 0 });
    socket.chunk("r1", text("Hel"), { replay: true, seq: 1 });
    socket.receive({ type: "cf_agent_use_chat_response", id: "r1", body: "", done: false, replay: true, replayComplete: true });
    socket.chunk("r1", text("lo"), { seq: 2 });
    socket.done("r1");
    expect(await readAll(stream!)).toEqual([{ type: "start", messageId: "a1" }, text("Hel"), text("lo")]);
  });

  test("reconnectToStream resolves null on cf_agent_stream_resume_none, and after the timeout", async () => {
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket, resumeTimeoutMs: 20 });
    const none = transport.reconnectToStream({ chatId: "c" });
    socket.receive({ type: "cf_agent_stream_resume_none", probeId: socket.last("cf_agent_stream_resume_request").probeId });
    expect(await none).toBeNull();
    expect(await transport.reconnectToStream({ chatId: "c" })).toBeNull();
    expect(socket.sent.filter((frame) => frame.type === "cf_agent_stream_resume_ack")).toEqual([]);
  });

  test("a joined continuation keeps the message it continues: its start chunk is left out", async () => {
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket });
    const joined = transport.reconnectToStream({ chatId: "c" });
    socket.receive({ type: "cf_agent_stream_resuming", id: "r2", probeId: socket.last("cf_agent_stream_resume_request").probeId });
    const stream = (await joined)!;
    socket.chunk("r2", { type: "start" }, { replay: true, seq: 0, continuation: true });
    socket.chunk("r2", text("after approval"), { replay: true, seq: 1, continuation: true });
    socket.done("r2", { continuation: true });
    expect(await readAll(stream)).toEqual([text("after approval")]);
  });

  test("re-attaches a turn after the connection drops, skipping the replayed chunks it already read", async () => {
    for (const numbered of [true, false]) {
      const socket = new FakeSocket();
      const transport = new AgentChatTransport({ agent: socket });
      const stream = await send(transport);
      const id = socket.last("cf_agent_use_chat_request").id as string;
      const seq = (n: number) => (numbered ? { seq: n } : {});
      socket.chunk(id, { type: "start", messageId: "a1" }, seq(0));
      socket.chunk(id, text("one "), seq(1));
      socket.drop();
      socket.reopen();
      const probe = socket.last("cf_agent_stream_resume_request");
      socket.receive({ type: "cf_agent_stream_resuming", id, probeId: probe.probeId });
      await tick();
      expect(socket.last("cf_agent_stream_resume_ack")).toEqual({ type: "cf_agent_stream_resume_ack", id });
      socket.chunk(id, { type: "start", messageId: "a1" }, { replay: true, ...seq(0) });
      socket.chunk(id, text("one "), { replay: true, ...seq(1) });
      socket.chunk(id, text("two"), { replay: true, ...seq(2) });
      socket.chunk(id, text(" three"), seq(3));
      socket.done(id);
      expect(await readAll(stream)).toEqual([{ type: "start", messageId: "a1" }, text("one "), text("two"), text(" three")]);
    }
  });

  test("a turn that ended while the connection was down closes its stream and is reported lost", async () => {
    const socket = new FakeSocket();
    const onTurnLost = vi.fn();
    const transport = new AgentChatTransport({ agent: socket, onTurnLost });
    const stream = await send(transport);
    const id = socket.last("cf_agent_use_chat_request").id as string;
    socket.chunk(id, text("cut"));
    socket.drop();
    socket.reopen();
    socket.receive({ type: "cf_agent_stream_resume_none", probeId: socket.last("cf_agent_stream_resume_request").probeId });
    expect(await readAll(stream)).toEqual([text("cut")]);
    expect(onTurnLost).toHaveBeenCalledWith([id]);
  });

  test("a connection closed for good ends the stream with an error chunk", async () => {
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket });
    const stream = await send(transport);
    socket.shouldReconnect = false;
    socket.drop();
    expect(await readAll(stream)).toEqual([{ type: "error", errorText: "WebSocket closed mid-stream" }]);
  });

  test("aborting leaves the turn running unless cancelOnAbort; cancel() always stops it", async () => {
    for (const cancelOnAbort of [false, true]) {
      const socket = new FakeSocket();
      const unowned = vi.fn();
      const transport = new AgentChatTransport({ agent: socket, cancelOnAbort, onUnownedFrame: unowned });
      const controller = new AbortController();
      const stream = await send(transport, controller.signal);
      const id = socket.last("cf_agent_use_chat_request").id as string;
      controller.abort();
      await expect(readAll(stream)).rejects.toThrow("Aborted");
      expect(socket.sent.some((frame) => frame.type === "cf_agent_chat_request_cancel")).toBe(cancelOnAbort);
      socket.chunk(id, text("after abort"));
      expect(unowned).not.toHaveBeenCalled();
    }
    const socket = new FakeSocket();
    const transport = new AgentChatTransport({ agent: socket });
    await send(transport);
    const id = socket.last("cf_agent_use_chat_request").id as string;
    expect(transport.cancel()).toEqual([id]);
    expect(socket.last("cf_agent_chat_request_cancel")).toEqual({ type: "cf_agent_chat_request_cancel", id });
  });

  test("a connection that does not say it reconnects (a plain WebSocket) is closed for good: streams and probes settle", async () => {
    const socket = new FakeSocket();
    socket.shouldReconnect = undefined;
    const transport = new AgentChatTransport({ agent: socket });
    const stream = await send(transport);
    socket.drop();
    // The probe goes out on the closed socket (its send fails), so only the close can settle it.
    const probe = transport.probe();
    socket.dispatchEvent(new Event("close"));
    expect(await readAll(stream)).toEqual([{ type: "error", errorText: "WebSocket closed mid-stream" }]);
    expect(await probe).toBeNull();
  });

  test("reads how a turn ended from its last frame, and reports a skipped turn it sent", async () => {
    const frame = (fields: Record<string, unknown>) =>
      readChatFrame(JSON.stringify({ type: "cf_agent_use_chat_response", id: "r1", body: "", ...fields }));
    expect(frame({ done: true, outcome: "skipped", messageIds: ["u1"] })).toMatchObject({ outcome: "skipped", messageIds: ["u1"] });
    expect(frame({ done: true, outcome: "finished", messageIds: [1] })).not.toHaveProperty("outcome");
    expect(frame({ done: true, outcome: "finished", messageIds: [1] })).not.toHaveProperty("messageIds");
    expect(frame({ done: false, outcome: "completed" })).not.toHaveProperty("outcome");

    const socket = new FakeSocket();
    const onTurnSkipped = vi.fn();
    const transport = new AgentChatTransport({ agent: socket, onTurnSkipped });
    const refused = await send(transport);
    const id = socket.last("cf_agent_use_chat_request").id as string;
    socket.done(id, { outcome: "skipped" });
    expect(await readAll(refused)).toEqual([]);
    expect(onTurnSkipped).toHaveBeenCalledWith({ id, messageId: user.id, messageIds: undefined });

    const completed = await send(transport);
    socket.done(socket.last("cf_agent_use_chat_request").id as string, { outcome: "completed", messageIds: [user.id] });
    await readAll(completed);
    expect(onTurnSkipped).toHaveBeenCalledTimes(1);
  });
});
