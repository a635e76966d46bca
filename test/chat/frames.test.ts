/**
 * Hostile and broken input: malformed chat frames, invalid messages and oversized ones are refused
 * with an error that says what is wrong (and which limit, when one was hit); the agent keeps
 * serving.
 */
import { jsonSchema, tool, type UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld, TinyChat } from "./fixture.ts";
import { ChatClient, messageText, scriptedModel, textOf, textStream, usage, until, userMessage, type Frame } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

function request(id: string | undefined, init: unknown): Frame {
  return { type: "cf_agent_use_chat_request", ...(id === undefined ? {} : { id }), init };
}

async function errorOf(client: ChatClient, id: string): Promise<string> {
  const frame = await client.done(id);
  expect(frame).toMatchObject({ done: true, error: true });
  return frame.body as string;
}

async function hearthError(client: ChatClient, from: number): Promise<string> {
  return (await client.waitForType("hearth_error", from)).error as string;
}

describe("malformed chat frames", () => {
  test("a broken chat request gets an error response with its id, naming the problem", async () => {
    resetWorld(scriptedModel(textStream("still here")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "f1");
    const send = (id: string, init: unknown) => client.socket.send(request(id, init));

    send("b1", { method: "POST", body: "{not json" });
    expect(await errorOf(client, "b1")).toMatch(/init\.body is not JSON/);
    send("b2", { method: "POST", body: JSON.stringify({ messages: "hello" }) });
    expect(await errorOf(client, "b2")).toMatch(/"init\.body\.messages" must be an array/);
    send("b3", { method: "POST" });
    expect(await errorOf(client, "b3")).toMatch(/init\.body must be a JSON string/);
    send("b4", { method: "GET", body: "{}" });
    expect(await errorOf(client, "b4")).toMatch(/init\.method must be "POST"/);
    send("b5", { method: "POST", body: JSON.stringify({ messages: [{ id: "u1", role: "user", parts: [{ type: "text" }] }] }) });
    expect(await errorOf(client, "b5")).toMatch(/messages\[0\]\.parts\[0\]\.text: .*expected string/);
    send("b6", { method: "POST", body: JSON.stringify({ messages: [userMessage("u1", "a"), userMessage("u1", "b")] }) });
    expect(await errorOf(client, "b6")).toMatch(/messages\[1\]\.id "u1" appears twice/);
    send("b7", { method: "POST", body: JSON.stringify({ messages: [] }) });
    expect(await errorOf(client, "b7")).toMatch(/at least one message/);
    send("b8", { method: "POST", body: JSON.stringify({ messages: [userMessage("u1", "a")], trigger: "sing" }) });
    expect(await errorOf(client, "b8")).toMatch(/"trigger" must be/);
    send("b9", { method: "POST", body: JSON.stringify({ messages: [userMessage("u1", "a")], clientTools: [{ description: "no name" }] }) });
    expect(await errorOf(client, "b9")).toMatch(/every client tool needs a "name"/);

    // Nothing was stored, and the agent still answers.
    expect(await t.get<Chat>("Chat", "f1").storedRows()).toBe(0);
    const ok = client.send([userMessage("u1", "hello")]);
    await client.done(ok);
    expect(textOf(client.responses(ok))).toBe("still here");
    client.close();
  });

  test("other broken chat frames get a hearth_error frame", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "f2");
    let mark = client.frames.length;
    client.socket.send(request(undefined, { method: "POST", body: "{}" }));
    expect(await hearthError(client, mark)).toMatch(/cf_agent_use_chat_request: "id" must be a string/);
    mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "x", approved: "yes" });
    expect(await hearthError(client, mark)).toMatch(/"approved" must be true or false/);
    mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "x", output: { ok: 1 }, state: "done" });
    expect(await hearthError(client, mark)).toMatch(/"state" must be "output-available" or "output-error"/);
    mark = client.frames.length;
    client.socket.send({ type: "cf_agent_chat_messages", messages: [{ id: "m", role: "user", parts: [] }] });
    expect(await hearthError(client, mark)).toMatch(/messages\[0\]\.parts: Message must contain at least one part/);
    mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "nope", toolName: "x", output: 1 });
    expect(await hearthError(client, mark)).toMatch(/no tool call "nope" in this conversation/);
    mark = client.frames.length;
    client.socket.send({ type: "cf_agent_stream_resume_ack" });
    expect(await hearthError(client, mark)).toMatch(/cf_agent_stream_resume_ack: "id" must be a string/);
    client.close();
  });

  test("a read-only connection chats like any other: as in the Agents SDK, the flag restricts setState only", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const viewer = await ChatClient.open(ws, "f3", "?readonly=1");
    const id = viewer.send([userMessage("u1", "hi")]);
    expect(await viewer.done(id)).toMatchObject({ done: true, outcome: "completed" });
    expect(await t.get<Chat>("Chat", "f3").storedRows()).toBe(2);
    viewer.socket.send({ type: "cf_agent_stream_resume_request", probeId: "v" });
    expect(await viewer.waitForType("cf_agent_stream_resume_none")).toMatchObject({ probeId: "v" });
    viewer.socket.send({ type: "cf_agent_state", state: { x: 1 } });
    expect(await viewer.waitForType("cf_agent_state_error")).toMatchObject({ error: "Connection is readonly" });
    viewer.socket.send({ type: "cf_agent_chat_clear" });
    await until(async () => (await t.get<Chat>("Chat", "f3").storedRows()) === 0, "the clear");
    viewer.close();
  });
});

describe("oversized input and output", () => {
  test("a chat request over the host's maxMessageBytes is ended with an error before it reaches the agent", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv({ maxMessageBytes: 64 * 1024 }));
    const client = await ChatClient.open(ws, "o1");
    const id = client.send([userMessage("u1", "x".repeat(100_000))]);
    // The client waiting for this request is told, with the request's id.
    expect(await errorOf(client, id)).toMatch(/exceeds the limit of 65536 bytes \(maxMessageBytes\)/);
    const mark = client.frames.length;
    client.socket.send({ type: "cf_agent_chat_messages", messages: [userMessage("u2", "y".repeat(100_000))] });
    expect(await hearthError(client, mark)).toMatch(/exceeds the limit of 65536 bytes \(maxMessageBytes\)/);
    expect(await t.get<Chat>("Chat", "o1").storedRows()).toBe(0);
    client.close();
  });

  test("a conversation past 1 MiB goes on: a chat request carries all of it, and frames may be 32 MiB as on Cloudflare", async () => {
    resetWorld(scriptedModel(textStream("first"), textStream("second")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o0");
    const first = client.send([userMessage("u1", "x".repeat(700_000))]);
    expect(await client.done(first)).toMatchObject({ outcome: "completed" });
    const stored = (await t.get<Chat>("Chat", "o0").history()) as UIMessage[];
    const second = client.send([...stored, userMessage("u2", "y".repeat(500_000))]);
    expect(await client.done(second)).toMatchObject({ outcome: "completed" });
    expect(((await t.get<Chat>("Chat", "o0").history()) as UIMessage[]).map((message) => message.id).slice(-2)[0]).toBe("u2");
    client.close();
  });

  test("a message over maxChatMessageBytes, or too many messages, is refused naming the limit", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o2", "", "tiny-chat");
    const big = client.send([userMessage("u1", "x".repeat(3_000))]);
    expect(await errorOf(client, big)).toMatch(/messages\[0\] \("u1"\) is \d+ bytes of JSON; the limit is 2000 \(maxChatMessageBytes\)/);
    const many = client.send(Array.from({ length: 6 }, (_, i) => userMessage(`u${i}`, "hi")));
    expect(await errorOf(client, many)).toMatch(/has 6 messages; the limit is 5 \(maxChatRequestMessages\)/);
    expect(await t.get<TinyChat>("TinyChat", "o2").storedRows()).toBe(0);
    client.close();
  });

  test("a reply growing past maxChatMessageBytes is cut there: the turn ends with an error naming the limit", async () => {
    resetWorld(scriptedModel(textStream(Array.from({ length: 400 }, () => "word").join(" "))));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o3", "", "tiny-chat");
    const id = client.send([userMessage("u1", "talk a lot")]);
    expect(await errorOf(client, id)).toMatch(/The reply is \d+ bytes of JSON; the limit is 2000 \(maxChatMessageBytes\)/);
    // What was produced within the limit is kept, as for a cancelled turn; the rest never came.
    const history = (await t.get<TinyChat>("TinyChat", "o3").history()) as UIMessage[];
    expect(history.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(Buffer.byteLength(JSON.stringify(history[1]))).toBeLessThanOrEqual(2000);
    expect(messageText(history[1]).length).toBeLessThan(400 * 5 - 1);
    // Its chunks stay, for a client that reconnects to learn how it ended, until the next turn.
    expect(await t.get<TinyChat>("TinyChat", "o3").streamRows()).toBeGreaterThan(0);
    client.close();
  });

  test("a tool result too large for the reply is neither sent nor stored; what came before it is, and the chat goes on", async () => {
    const page = tool({
      inputSchema: jsonSchema<{ url: string }>({ type: "object", properties: { url: { type: "string" } } }),
      execute: async () => "x".repeat(5_000),
    });
    resetWorld(
      scriptedModel(
        [
          { type: "stream-start", warnings: [] },
          { type: "text-start", id: "t1" },
          { type: "text-delta", id: "t1", delta: "Fetching it." },
          { type: "text-end", id: "t1" },
          { type: "tool-call", toolCallId: "p1", toolName: "page", input: JSON.stringify({ url: "https://example.com" }) },
          { type: "finish", finishReason: { unified: "tool-calls", raw: "tool-calls" }, usage: usage(5, 5) },
        ],
        textStream("Too long to read."),
      ),
      { page },
    );
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o5", "", "tiny-chat");
    const id = client.send([userMessage("u1", "read example.com")]);
    expect(await errorOf(client, id)).toMatch(/The reply is \d+ bytes of JSON; the limit is 2000 \(maxChatMessageBytes\)/);
    // No frame carried the result: it alone is over the limit.
    expect(client.responses(id).every((frame) => (frame.body as string).length < 2_000)).toBe(true);
    const history = (await t.get<TinyChat>("TinyChat", "o5").history()) as UIMessage[];
    expect(history.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messageText(history[1])).toBe("Fetching it.");
    expect(history[1]!.parts.find((part) => part.type === "tool-page")).toMatchObject({ state: "output-error" });
    // The client's copy of the answer is one the agent stored: the next request is taken.
    resetWorld(scriptedModel(textStream("Next.")));
    const next = client.send([...history, userMessage("u2", "never mind")]);
    expect(await client.done(next)).toMatchObject({ outcome: "completed" });
    client.close();
  });

  test("requests beyond maxQueuedTurns are refused naming the limit", async () => {
    resetWorld(scriptedModel(textStream("ok")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o4", "", "tiny-chat");
    const release = holdTurns();
    const first = client.send([userMessage("u1", "one")]);
    const second = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    const third = client.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    expect(await errorOf(client, third)).toMatch(/the limit is 1 \(maxQueuedTurns\)/);
    release();
    await client.done(first);
    await client.done(second);
    client.close();
  });
});
