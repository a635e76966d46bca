/**
 * The agent's own control of turns: `saveMessages` results and `{ signal }`, the function form
 * applied when the turn starts, `waitUntilStable`, `hasPendingInteraction`, `resetTurnState`, and
 * what is stripped before a message is stored (`sanitizeMessageForPersistence`).
 */
import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { jsonSchema, tool, type UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { SaveMessagesResult } from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, resetWorld, world } from "./fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textOf, textStream, toolCallStream, until, usage, userMessage } from "./helpers.ts";

/** Exposes the protected controls, and a save the test can abort (signals do not cross RPC). */
class ControlChat extends Chat {
  #aborter: AbortController | undefined;
  #pending: Promise<SaveMessagesResult> | undefined;
  #stable: Promise<boolean> | undefined;

  beginSave(messages: UIMessage[], aborted = false): void {
    this.#aborter = new AbortController();
    if (aborted) this.#aborter.abort();
    this.#pending = this.saveMessages(messages, { signal: this.#aborter.signal });
  }

  /** Appends a message to the conversation as it is when the turn starts. */
  beginAppend(message: UIMessage): void {
    this.#pending = this.saveMessages((messages) => [...messages, message]);
  }

  abortSave(): void {
    this.#aborter?.abort(new Error("the caller gave up"));
  }

  async saved(): Promise<SaveMessagesResult> {
    return this.#pending!;
  }

  beginWaitUntilStable(timeout?: number): void {
    this.#stable = this.waitUntilStable(timeout === undefined ? undefined : { timeout });
  }

  async stable(): Promise<boolean> {
    return this.#stable!;
  }

  pending(): boolean {
    return this.hasPendingInteraction();
  }

  reset(): void {
    this.resetTurnState();
  }

  /** The Agents SDK's way: change `this.messages`, then store it. */
  async pushAndStore(message: UIMessage): Promise<void> {
    this.messages.push(message);
    await this.persistMessages(this.messages);
  }

  /** The stored conversation's texts, from its table. */
  storedTexts(): string[] {
    return this.sql<{ message: string }>`SELECT message FROM hearth_chat_messages ORDER BY position`.map((row) => messageText(JSON.parse(row.message) as UIMessage));
  }

  /** `this.messages` replaced in memory: what code reads until the conversation changes. */
  replaceInMemory(): number {
    this.messages = [];
    return this.messages.length;
  }

  async persist(messages: UIMessage[], exclude: string[] = [], exact = false): Promise<void> {
    await this.persistMessages(messages, exclude, exact ? { _deleteStaleRows: true } : {});
  }

  /** Drops data parts the app keeps to itself. */
  protected sanitizeMessageForPersistence(message: UIMessage): UIMessage {
    return { ...message, parts: message.parts.filter((part) => part.type !== "data-debug") };
  }
}

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { ControlChat }, time: "system" });
  return (await t.url()).replace(/^http/, "ws");
}

const removeTool = {
  remove: tool({
    inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }),
    needsApproval: true,
    execute: async ({ path }) => ({ removed: path }),
  }),
};

describe("persistMessages and saveMessages store as the Agents SDK does", () => {
  test("a message replaces the stored one of its id where it is; new ones are appended; nothing is dropped", async () => {
    resetWorld(scriptedModel(textStream("first answer"), textStream("second answer")));
    await env();
    const stub = t.get<ControlChat>("ControlChat", "p1");
    await stub.beginSave([userMessage("u1", "hello")]);
    expect((await stub.saved()).status).toBe("completed");
    await stub.persist([userMessage("u1", "hello, edited")]);
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["hello, edited", "first answer"]);
    // saveMessages with the new message only: the conversation so far stays before it.
    await stub.beginSave([userMessage("u2", "and more")]);
    expect((await stub.saved()).status).toBe("completed");
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["hello, edited", "first answer", "and more", "second answer"]);
  });

  test("this.messages is one array code may push to and store, or replace in memory", async () => {
    resetWorld(scriptedModel(textStream("unused")));
    await env();
    const stub = t.get<ControlChat>("ControlChat", "p4");
    await stub.persist([userMessage("u1", "first")]);
    await stub.pushAndStore(userMessage("u2", "a note"));
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["first", "a note"]);
    expect(await stub.replaceInMemory()).toBe(0);
    expect(await stub.history()).toEqual([]);
    expect(await stub.storedTexts()).toEqual(["first", "a note"]);
  });

  test("a message is stored as sent, with fields the AI SDK's schema does not know", async () => {
    resetWorld(scriptedModel(textStream("unused")));
    await env();
    const stub = t.get<ControlChat>("ControlChat", "p3");
    const message = { id: "u1", role: "user", createdAt: "2026-12-06T08:00:00.000Z", parts: [{ type: "text", text: "bonjour", lang: "fr" }] } as unknown as UIMessage;
    await stub.persist([message]);
    expect(await stub.history()).toEqual([message]);
  });

  test("_deleteStaleRows makes the list the whole conversation; excludeBroadcastIds are not sent it", async () => {
    resetWorld(scriptedModel(textStream("an answer")));
    const ws = await env();
    const watcher = await ChatClient.open(ws, "p2", "", "control-chat");
    const left = await ChatClient.open(ws, "p2", "?_pk=left-tab", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "p2");
    await stub.beginSave([userMessage("u1", "hello")]);
    expect((await stub.saved()).status).toBe("completed");
    await stub.persist([userMessage("u1", "only this")], ["left-tab"], true);
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["only this"]);
    const persisted = (f: unknown) => typeof f === "object" && f !== null && (f as { type?: unknown }).type === "cf_agent_chat_messages" && JSON.stringify(f).includes("only this");
    await until(() => watcher.frames.some(persisted), "the other client is sent the conversation");
    expect(left.frames.filter(persisted)).toEqual([]);
    watcher.close();
    left.close();
  });
});

describe("saveMessages", () => {
  test("resolves to { requestId, status } when the turn ends; every client sees it", async () => {
    resetWorld(scriptedModel(textStream("Here is your summary.")));
    const ws = await env();
    const client = await ChatClient.open(ws, "s1", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "s1");
    await stub.beginSave([userMessage("p1", "summarise")]);
    const result = await stub.saved();
    expect(Object.keys(result).sort()).toEqual(["requestId", "status"]);
    expect(result.status).toBe("completed");
    expect(await client.done(result.requestId)).toMatchObject({ outcome: "completed", messageIds: ["p1"] });
    expect(textOf(client.responses(result.requestId))).toBe("Here is your summary.");
    client.close();
  });

  test("{ signal }: aborting a running turn ends it as aborted and keeps what it streamed", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    const ws = await env();
    const client = await ChatClient.open(ws, "s2", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "s2");
    await stub.beginSave([userMessage("p1", "a long report")]);
    gate.text("Chapter one");
    await until(() => client.frames.some((f) => typeof f === "object" && typeof f.body === "string" && f.body.includes("Chapter one")), "the turn streams");
    await stub.abortSave();
    const result = await stub.saved();
    expect(result.status).toBe("aborted");
    expect(world.options[0]!.abortSignal.aborted).toBe(true);
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["a long report", "Chapter one"]);
    client.close();
  });

  test("{ signal }: a turn aborted while it waits never runs; one aborted before the call stores nothing", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("never"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "s3", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "s3");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    await stub.beginSave([userMessage("u1", "one"), userMessage("p1", "queued")]);
    await until(async () => ((await stub.history()) as UIMessage[]).some((m) => m.id === "p1"), "the message stored, the turn queued");
    await stub.abortSave();
    expect(await stub.saved()).toMatchObject({ status: "aborted" });
    gate.finish();
    await client.done(one);
    expect(model.prompts).toHaveLength(1);

    await stub.beginSave([userMessage("x1", "never stored")], true);
    expect(await stub.saved()).toMatchObject({ status: "aborted" });
    expect(((await stub.history()) as UIMessage[]).map((m) => m.id)).not.toContain("x1");
    client.close();
  });

  test("a function sees the conversation when its turn starts, after the turn before it", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("second answer")));
    const ws = await env();
    const client = await ChatClient.open(ws, "s4", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "s4");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("first answer");
    await until(() => textOf(client.responses(one)) === "first answer", "the first turn streams");
    await stub.beginAppend(userMessage("p1", "and then?"));
    gate.finish();
    expect(await stub.saved()).toMatchObject({ status: "completed" });
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["one", "first answer", "and then?", "second answer"]);
    client.close();
  });
});

describe("waitUntilStable, hasPendingInteraction, resetTurnState", () => {
  test("a pending approval keeps the conversation unstable until it is answered and the turn continued", async () => {
    resetWorld(scriptedModel(toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Removed.")), removeTool);
    const ws = await env();
    const client = await ChatClient.open(ws, "w1", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "w1");
    expect(await stub.pending()).toBe(false);
    await client.done(client.send([userMessage("u1", "remove a.txt")]));
    expect(await stub.pending()).toBe(true);
    await stub.beginWaitUntilStable(20);
    expect(await stub.stable()).toBe(false);

    await stub.beginWaitUntilStable();
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    expect(await stub.stable()).toBe(true);
    expect(await stub.pending()).toBe(false);
    expect(messageText(((await stub.history()) as UIMessage[])[1])).toBe("Removed.");
    client.close();
  });

  test("resetTurnState aborts the running turn and skips the waiting ones", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("never"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "w2", "", "control-chat");
    const stub = t.get<ControlChat>("ControlChat", "w2");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("started");
    await until(() => textOf(client.responses(one)) === "started", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    await stub.beginWaitUntilStable();
    await until(async () => ((await stub.history()) as UIMessage[]).length === 2, "the second message stored");
    await stub.reset();
    expect(await client.done(one)).toMatchObject({ outcome: "aborted" });
    expect(await client.done(two)).toMatchObject({ outcome: "skipped" });
    expect(await stub.stable()).toBe(true);
    expect(model.prompts).toHaveLength(1);
    // Nothing was deleted: the partial answer and both messages stay.
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["one", "started", "two"]);
    client.close();
  });
});

describe("what is stored of a message", () => {
  test("OpenAI's item ids and empty reasoning are stripped, then sanitizeMessageForPersistence runs", async () => {
    const parts: LanguageModelV4StreamPart[] = [
      { type: "stream-start", warnings: [] },
      { type: "reasoning-start", id: "r1", providerMetadata: { openai: { itemId: "rs_1", reasoningEncryptedContent: "opaque" } } },
      { type: "reasoning-end", id: "r1" },
      { type: "text-start", id: "t1", providerMetadata: { openai: { itemId: "msg_1", phase: "final" } } },
      { type: "text-delta", id: "t1", delta: "Hello" },
      { type: "text-end", id: "t1" },
      { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: usage(1, 1) },
    ];
    resetWorld(scriptedModel(parts));
    const ws = await env();
    const client = await ChatClient.open(ws, "z1", "", "control-chat");
    const debug = { id: "u1", role: "user" as const, parts: [{ type: "text" as const, text: "hi" }, { type: "data-debug" as const, data: { trace: "secret" } }] };
    await client.done(client.send([debug]));
    const [user, answer] = (await t.get<ControlChat>("ControlChat", "z1").history()) as UIMessage[];
    expect(user!.parts).toEqual([{ type: "text", text: "hi" }]);
    expect(answer!.parts.map((part) => part.type)).toEqual(["step-start", "text"]);
    expect(answer!.parts[1]).toMatchObject({ type: "text", text: "Hello", providerMetadata: { openai: { phase: "final" } } });
    expect(JSON.stringify(answer)).not.toContain("msg_1");
    client.close();
  });
});
