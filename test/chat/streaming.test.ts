/**
 * A turn end to end over a real WebSocket: chunks streamed to every client, the assistant message
 * stored one row per message, history on connect and over HTTP, usage accounted.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, resetWorld, world } from "./fixture.ts";
import { ChatClient, chunksOf, messageText, scriptedModel, textOf, textStream, until, usage, userMessage } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

describe("streaming and persistence", () => {
  test("streams the reply to the sender and every other client, then stores it", async () => {
    resetWorld(scriptedModel(textStream("The answer is 42.", usage(12, 5))));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "s1");
    const bob = await ChatClient.open(ws, "s1");
    const question = userMessage("u1", "What is the answer?");
    const id = ada.send([question]);

    const done = await ada.done(id);
    expect(done).toMatchObject({ body: "", done: true, outcome: "completed", messageIds: ["u1"] });
    const frames = ada.responses(id);
    expect(textOf(frames)).toBe("The answer is 42.");
    const chunks = chunksOf(frames);
    expect(chunks[0]).toMatchObject({ type: "start" });
    const messageId = chunks[0]!.messageId as string;
    expect(typeof messageId).toBe("string");
    expect(messageId.length).toBeGreaterThan(0);
    // Live frames carry their index in the stream, the one a replay would give them.
    expect(frames.filter((f) => f.done === false).map((f) => f.seq)).toEqual(frames.filter((f) => f.done === false).map((_, i) => i));

    // Bob saw the user message at once and the whole stream.
    await bob.done(id);
    expect(textOf(bob.responses(id))).toBe("The answer is 42.");
    const lists = (client: ChatClient) =>
      client.frames.filter((f) => typeof f === "object" && f.type === "cf_agent_chat_messages" && f.connect !== true) as Array<{ messages: UIMessage[] }>;
    await until(() => lists(bob).length === 2, "two lists for bob");
    const broadcasts = lists(bob);
    // First the user's message (before the reply), then the conversation with the reply.
    expect(broadcasts.map((b) => b.messages.map((m) => m.role))).toEqual([["user"], ["user", "assistant"]]);
    // The sender already has both: it gets neither list.
    expect(lists(ada)).toEqual([]);

    const stub = t.get<Chat>("Chat", "s1");
    const history = await stub.history();
    expect(history.map((m) => [m.id, m.role])).toEqual([
      ["u1", "user"],
      [messageId, "assistant"],
    ]);
    expect(messageText(history[1])).toBe("The answer is 42.");
    expect(await stub.storedRows()).toBe(2);
    expect(await stub.streamRows()).toBe(0);
    expect(world.responses).toMatchObject([{ requestId: id, status: "completed", continuation: false }]);
    ada.close();
    bob.close();
  });

  test("history is served on connect and at GET …/get-messages, and survives hibernation and restarts", async () => {
    resetWorld(scriptedModel(textStream("first reply"), textStream("second reply")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "s2");
    const first = client.send([userMessage("u1", "one")]);
    await client.done(first);
    const afterFirst = (await t.get<Chat>("Chat", "s2").history()) as UIMessage[];
    const second = client.send([...afterFirst, userMessage("u2", "two")]);
    await client.done(second);
    client.close();

    expect(t.hibernate()).toBeGreaterThanOrEqual(1);
    const response = await t.fetch("/agents/chat/s2/get-messages");
    expect(response.status).toBe(200);
    const stored = (await response.json()) as UIMessage[];
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(stored.map(messageText)).toEqual(["one", "first reply", "two", "second reply"]);

    await t.restart();
    ws = (await t.url()).replace(/^http/, "ws");
    const later = await ChatClient.open(ws, "s2");
    const onConnect = later.frames.find((f) => typeof f === "object" && f.type === "cf_agent_chat_messages") as { messages: UIMessage[] };
    expect(onConnect.messages.map(messageText)).toEqual(["one", "first reply", "two", "second reply"]);
    later.close();
  });

  test("a long history is many rows: no single-row size wall", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    ({ t } = await chatEnv());
    const stub = t.get<Chat>("Chat", "big");
    const big = "x".repeat(900_000);
    const messages = Array.from({ length: 6 }, (_, i) => userMessage(`m${i}`, `${i}:${big}`));
    await stub.store(messages);
    expect(await stub.storedRows()).toBe(6);
    await t.restart();
    const stored = (await (await t.fetch("/agents/chat/big/get-messages")).json()) as UIMessage[];
    expect(stored.map((m) => m.id)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    expect(stored.map((m) => messageText(m).length)).toEqual(messages.map((m) => messageText(m).length));
  });

  test("usage: tokens per model call are stored, totalled and passed to onUsage", async () => {
    resetWorld(scriptedModel(textStream("a", usage(100, 7)), textStream("b", usage(150, 9))));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "u");
    await client.done(client.send([userMessage("u1", "one")]));
    const history = (await t.get<Chat>("Chat", "u").history()) as UIMessage[];
    const second = client.send([...history, userMessage("u2", "two")]);
    await client.done(second);
    await until(() => world.usage.length === 2, "two usage records");

    const summary = await t.get<Chat>("Chat", "u").usageSummary();
    expect(summary).toMatchObject({ calls: 2, inputTokens: 250, outputTokens: 16, totalTokens: 266 });
    expect(summary.recent.map((r) => [r.requestId, r.inputTokens, r.outputTokens])).toEqual([
      [second, 150, 9],
      [expect.any(String), 100, 7],
    ]);
    expect(world.usage.map((r) => r.inputTokens)).toEqual([100, 150]);
    await t.restart();
    expect(await t.get<Chat>("Chat", "u").usageSummary()).toMatchObject({ calls: 2, inputTokens: 250 });
    client.close();
  });

  test("the request body and the client's tools reach onChatMessage", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "body");
    const id = client.send([userMessage("u1", "hi")], { tone: "formal", clientTools: [{ name: "getLocation", description: "Where the user is" }] });
    await client.done(id);
    expect(world.options[0]).toMatchObject({ requestId: id, continuation: false, body: { tone: "formal" } });
    expect(world.options[0]!.clientTools).toEqual([{ name: "getLocation", description: "Where the user is" }]);
    expect(world.options[0]!.abortSignal.aborted).toBe(false);
    client.close();
  });

  test("frames that are not chat frames still reach the agent's own onMessage", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "other");
    client.socket.send("ping");
    client.socket.send({ type: "my_app_frame", value: 1 });
    await client.waitForType("echo");
    await until(() => world.messages.length === 2, "two messages in onMessage");
    expect(world.messages).toEqual(["ping", JSON.stringify({ type: "my_app_frame", value: 1 })]);
    client.close();
  });

  test("a model error reaches the clients as an error frame; the turn ends with outcome error", async () => {
    resetWorld(
      scriptedModel([
        { type: "stream-start", warnings: [] },
        { type: "text-start", id: "t1" },
        { type: "text-delta", id: "t1", delta: "Partial " },
        { type: "error", error: new Error("the provider is overloaded") },
      ]),
    );
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "err");
    const id = client.send([userMessage("u1", "hi")]);
    const done = await client.done(id);
    expect(done).toMatchObject({ body: "", outcome: "error" });
    const errors = client.responses(id).filter((f) => f.error === true);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ done: false, body: expect.any(String) });
    await until(() => world.responses.length === 1, "the turn's end");
    expect(world.responses[0]).toMatchObject({ status: "error", error: errors[0]!.body });
    // What came before the error is kept.
    const history = (await t.get<Chat>("Chat", "err").history()) as UIMessage[];
    expect(messageText(history[1])).toBe("Partial ");
    client.close();
  });

  test("onChatMessage throwing ends the request with an error frame carrying the message", async () => {
    resetWorld(scriptedModel(textStream("unused")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "throws");
    const id = client.send([userMessage("u1", "hi")], { explode: true });
    const done = await client.done(id);
    expect(done).toMatchObject({ error: true, outcome: "error", body: "no model configured for this tenant" });
    expect(world.responses[0]).toMatchObject({ status: "error", error: "no model configured for this tenant" });
    expect(world.errors).toHaveLength(1); // reported through onError
    client.close();
  });
});
