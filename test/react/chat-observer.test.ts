/**
 * The parts of `useAgentChat` that need no DOM: following turns no transport stream reads
 * (`TurnObserver`) and merging the agent's transcript with the client's.
 */
import type { UIMessage, UIMessageChunk } from "ai";
import { describe, expect, test } from "vitest";
import type { ChatResponseFrame } from "../../src/client/chat-protocol.ts";
import { applyMessageUpdate, mergeServerMessages, pendingToolCalls, prependMissing } from "../../src/react/chat-messages.ts";
import { TurnObserver } from "../../src/react/chat-observer.ts";

function host(initial: UIMessage[]) {
  const state = { messages: initial, active: [] as boolean[], late: [] as string[], data: [] as unknown[] };
  let next = 0;
  const observer = new TurnObserver<UIMessage>({
    messages: () => state.messages,
    update: (change) => void (state.messages = change(state.messages)),
    activeChanged: (active) => state.active.push(active),
    joinLate: (id) => state.late.push(id),
    data: (part) => state.data.push(part),
    generateId: () => `local-${next++}`,
  });
  return { state, observer };
}

const frame = (id: string, chunk: UIMessageChunk | null, extra: Partial<ChatResponseFrame> = {}): ChatResponseFrame => ({
  type: "cf_agent_use_chat_response",
  id,
  body: chunk === null ? "" : JSON.stringify(chunk),
  done: chunk === null,
  ...extra,
});

/** Lets the AI SDK's message builder catch up. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "Delete it" }] };
const waiting: UIMessage = {
  id: "a1",
  role: "assistant",
  parts: [
    {
      type: "tool-delete_note",
      toolCallId: "call-1",
      state: "approval-responded",
      input: { title: "groceries" },
      approval: { id: "ap-1", approved: true },
    },
  ],
};

describe("TurnObserver", () => {
  test("a continuation adds to the last assistant message and keeps its id", async () => {
    const { state, observer } = host([user, waiting]);
    observer.handle(frame("c1", { type: "start" }, { continuation: true, seq: 0 }));
    expect(observer.active).toBe(true);
    observer.handle(frame("c1", { type: "tool-output-available", toolCallId: "call-1", output: { deleted: true } }, { continuation: true, seq: 1 }));
    observer.handle(frame("c1", { type: "text-start", id: "t" }, { continuation: true, seq: 2 }));
    observer.handle(frame("c1", { type: "text-delta", id: "t", delta: "Done." }, { continuation: true, seq: 3 }));
    observer.handle(frame("c1", { type: "text-end", id: "t" }, { continuation: true, seq: 4 }));
    observer.handle(frame("c1", null, { continuation: true }));
    await settle();
    expect(state.messages).toHaveLength(2);
    expect(state.messages[1]).toMatchObject({
      id: "a1",
      parts: [
        { type: "tool-delete_note", state: "output-available", output: { deleted: true } },
        { type: "text", text: "Done." },
      ],
    });
    expect(state.active).toEqual([true, false]);
    // The message it started from is left as it was (the builder works on a copy).
    expect(waiting.parts[0]).toMatchObject({ state: "approval-responded" });
  });

  test("another tab's turn becomes a new message with the id its start chunk names", async () => {
    const { state, observer } = host([user]);
    observer.handle(frame("r1", { type: "start", messageId: "a9" }, { seq: 0 }));
    observer.handle(frame("r1", { type: "text-start", id: "t" }, { seq: 1 }));
    observer.handle(frame("r1", { type: "text-delta", id: "t", delta: "Hi" }, { seq: 2 }));
    observer.handle(frame("r1", null));
    await settle();
    expect(state.messages.map((message) => message.id)).toEqual(["u1", "a9"]);
    expect(state.messages[1]!.parts.at(-1)).toMatchObject({ type: "text", text: "Hi" });
  });

  test("a turn first seen mid-way is left to a resume", () => {
    const { state, observer } = host([user]);
    observer.handle(frame("r2", { type: "text-delta", id: "t", delta: "late" }, { seq: 7 }));
    observer.handle(frame("r2", { type: "text-delta", id: "t", delta: "again" }, { seq: 8 }));
    expect(state.late).toEqual(["r2"]);
    expect(observer.active).toBe(false);
  });

  test("after a reconnect, replayed chunks already applied are skipped", async () => {
    const { state, observer } = host([user]);
    observer.handle(frame("r3", { type: "start", messageId: "a3" }, { seq: 0 }));
    observer.handle(frame("r3", { type: "text-start", id: "t" }, { seq: 1 }));
    observer.handle(frame("r3", { type: "text-delta", id: "t", delta: "one " }, { seq: 2 }));
    observer.interrupt();
    expect(observer.isInterrupted("r3")).toBe(true);
    observer.reattach("r3");
    observer.handle(frame("r3", { type: "start", messageId: "a3" }, { seq: 0, replay: true }));
    observer.handle(frame("r3", { type: "text-start", id: "t" }, { seq: 1, replay: true }));
    observer.handle(frame("r3", { type: "text-delta", id: "t", delta: "one " }, { seq: 2, replay: true }));
    observer.handle(frame("r3", { type: "text-delta", id: "t", delta: "two" }, { seq: 3, replay: true }));
    observer.handle(frame("r3", null));
    await settle();
    expect(state.messages[1]!.parts.at(-1)).toMatchObject({ type: "text", text: "one two" });
  });

  test("data parts of a followed turn are reported, transient ones too, each once across a replay", async () => {
    const { state, observer } = host([user, waiting]);
    observer.handle(frame("c2", { type: "start" }, { continuation: true, seq: 0 }));
    observer.handle(frame("c2", { type: "data-progress", id: "p", data: { step: 1 } }, { continuation: true, seq: 1 }));
    observer.handle(frame("c2", { type: "data-mark", data: "thinking", transient: true }, { continuation: true, seq: 2 }));
    observer.interrupt();
    observer.reattach("c2");
    observer.handle(frame("c2", { type: "start" }, { continuation: true, seq: 0, replay: true }));
    observer.handle(frame("c2", { type: "data-progress", id: "p", data: { step: 1 } }, { continuation: true, seq: 1, replay: true }));
    observer.handle(frame("c2", { type: "data-mark", data: "thinking", transient: true }, { continuation: true, seq: 2, replay: true }));
    observer.handle(frame("c2", { type: "data-progress", id: "p", data: { step: 2 } }, { continuation: true, seq: 3, replay: true }));
    observer.handle(frame("c2", null, { continuation: true }));
    await settle();
    expect(state.data).toEqual([
      { type: "data-progress", id: "p", data: { step: 1 } },
      { type: "data-mark", data: "thinking", transient: true },
      { type: "data-progress", id: "p", data: { step: 2 } },
    ]);
    // The transient part is not kept in the message; the other one is, reconciled by id.
    expect(state.messages[1]!.parts.filter((part) => part.type.startsWith("data-"))).toEqual([{ type: "data-progress", id: "p", data: { step: 2 } }]);
  });

  test("interrupted turns the agent could not resume end", () => {
    const { observer } = host([user]);
    observer.handle(frame("r4", { type: "start" }, { seq: 0 }));
    observer.interrupt();
    expect(observer.endInterrupted()).toBe(1);
    expect(observer.active).toBe(false);
  });
});

describe("transcript helpers", () => {
  const a: UIMessage = { id: "a", role: "user", parts: [] };
  const b: UIMessage = { id: "b", role: "assistant", parts: [] };
  const c: UIMessage = { id: "c", role: "user", parts: [] };
  const d: UIMessage = { id: "d", role: "assistant", parts: [] };

  test("the agent's transcript wins, except the client's turn in flight", () => {
    expect(mergeServerMessages([a, b], [a, b, c, d], false)).toEqual([a, b]);
    expect(mergeServerMessages([a, b, c], [a, b, c, d], true)).toEqual([a, b, c, d]);
    expect(mergeServerMessages([a], [a, b, c, d], true)).toEqual([a, b, c, d]);
  });

  test("history loaded late goes before what the client already has", () => {
    expect(prependMissing([a, b], [])).toEqual([a, b]);
    expect(prependMissing([a, b], [c])).toEqual([a, b, c]);
    expect(prependMissing([a, b], [a, b])).toEqual([a, b]);
  });

  test("an updated message replaces the one with its id, or with its tool call", () => {
    const updated: UIMessage = { ...waiting, id: "server-id" };
    expect(applyMessageUpdate([user, { ...waiting, parts: [] }], { ...waiting })).toEqual([user, waiting]);
    expect(applyMessageUpdate([user, waiting], updated)).toEqual([user, waiting]);
    expect(applyMessageUpdate([user], updated)).toEqual([user]);
  });

  test("tool calls waiting for the client", () => {
    const call: UIMessage = {
      id: "a2",
      role: "assistant",
      parts: [{ type: "tool-get_location", toolCallId: "call-2", state: "input-available", input: {} }],
    };
    expect(pendingToolCalls([user, call])).toEqual([{ toolCallId: "call-2", toolName: "get_location", input: {} }]);
    expect(pendingToolCalls([user, waiting])).toEqual([]);
  });
});
