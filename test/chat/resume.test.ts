/**
 * Reconnecting mid-stream: the resume handshake replays what the client missed, then the stream
 * goes on live; after a restart, the stored part of the stream is replayed and ended, and the
 * message streamed so far is kept, marked interrupted.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld, world } from "./fixture.ts";
import { ChatClient, chunksOf, Gate, messageText, scriptedModel, textOf, textStream, until, userMessage, type Frame } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

const isType = (type: string) => (f: Frame | string) => typeof f === "object" && f.type === type;

describe("resume after a reconnect", () => {
  test("a client that reconnects mid-stream gets what it missed, then the live rest", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const first = await ChatClient.open(ws, "r1");
    const observer = await ChatClient.open(ws, "r1"); // stays connected: tells when a chunk was stored and sent
    const id = first.send([userMessage("u1", "greet me")]);
    gate.text("Hel");
    gate.text("lo ");
    await until(() => textOf(first.responses(id)) === "Hello ", "the first words");
    first.close();
    // A running turn keeps the agent in memory.
    expect(t.hibernate()).toBe(0);
    gate.text("wor");

    const again = await ChatClient.open(ws, "r1");
    // Told on connect that a stream is live (for clients that never ask)…
    expect(again.frames.find(isType("cf_agent_stream_resuming"))).toEqual({ type: "cf_agent_stream_resuming", id });
    // …and in answer to its own request, with its probe id.
    again.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p1" });
    await again.socket.waitFor((f) => isType("cf_agent_stream_resuming")(f) && (f as Frame).probeId === "p1");
    // Until it acknowledges, it gets no live chunks (they would arrive before the replay).
    gate.text("ld");
    await until(() => textOf(observer.responses(id)) === "Hello world", "the fourth piece sent");
    expect(again.responses(id)).toEqual([]);
    const beforeAck = again.frames.length;
    again.socket.send({ type: "cf_agent_stream_resume_ack", id });
    const complete = await again.socket.waitFor((f) => typeof f === "object" && f.id === id && f.replayComplete === true, beforeAck);
    expect(complete).toMatchObject({ done: false, replay: true, body: "" });
    const replayed = again.responses(id).filter((f) => f.replay === true);
    expect(textOf(replayed)).toBe("Hello world");
    expect(replayed.filter((f) => f.body !== "").map((f) => f.seq)).toEqual(replayed.filter((f) => f.body !== "").map((_, i) => i));

    gate.text("!");
    gate.finish();
    const done = await again.done(id);
    expect(done).toMatchObject({ outcome: "completed", messageIds: ["u1"] });
    expect(textOf(again.responses(id))).toBe("Hello world!");
    const history = (await t.get<Chat>("Chat", "r1").history()) as UIMessage[];
    expect(messageText(history[1])).toBe("Hello world!");
    again.close();
    observer.close();
  });

  test("nothing to resume: cf_agent_stream_resume_none, echoing the probe", async () => {
    resetWorld(scriptedModel(textStream("done")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "r2");
    await client.done(client.send([userMessage("u1", "hi")]));
    client.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p9" });
    expect(await client.waitForType("cf_agent_stream_resume_none")).toEqual({ type: "cf_agent_stream_resume_none", reason: "idle", probeId: "p9" });
    // An acknowledgement for a stream that finished ends the client's resumed stream at once.
    client.socket.send({ type: "cf_agent_stream_resume_ack", id: "gone" });
    expect(await client.done("gone")).toMatchObject({ body: "", done: true, replay: true });
    client.close();
  });
});

describe("resume of a turn that ended in an error", () => {
  test("a client away when the turn failed gets its chunks and its error over the handshake, until the next turn", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("fine")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const first = await ChatClient.open(ws, "e1");
    const id = first.send([userMessage("u1", "hi")]);
    gate.text("Partial ");
    await until(() => textOf(first.responses(id)) === "Partial ", "the first words");
    first.close();
    gate.fail("the provider is overloaded");
    await until(() => world.responses.length === 1, "the turn's end");
    const error = world.responses[0]!.error!;

    const back = await ChatClient.open(ws, "e1");
    back.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p1" });
    expect(await back.waitForType("cf_agent_stream_resuming")).toEqual({ type: "cf_agent_stream_resuming", id, probeId: "p1" });
    back.socket.send({ type: "cf_agent_stream_resume_ack", id });
    const done = await back.done(id);
    // What a live client saw: the chunks (the error's among them), then the error ending the stream.
    expect(done).toMatchObject({ body: error, done: true, error: true, replay: true, outcome: "error", messageIds: ["u1"] });
    const replayed = back.responses(id);
    expect(replayed.every((f) => f.replay === true)).toBe(true);
    expect(textOf(replayed)).toBe("Partial ");
    expect(chunksOf(replayed)).toContainEqual({ type: "error", errorText: error });
    expect(replayed.at(-1)).toBe(done);

    // The next turn supersedes it.
    const next = back.send([...((await t.get<Chat>("Chat", "e1").history()) as UIMessage[]), userMessage("u2", "again")]);
    expect(await back.done(next)).toMatchObject({ outcome: "completed" });
    const mark = back.frames.length;
    back.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p2" });
    expect(await back.waitForType("cf_agent_stream_resume_none", mark)).toMatchObject({ probeId: "p2" });
    back.close();
  });

  test("a reply that failed before streaming anything is reported the same way, also after a restart", async () => {
    resetWorld(scriptedModel(textStream("unused")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const release = holdTurns();
    const first = await ChatClient.open(ws, "e2");
    const id = first.send([userMessage("u1", "hi")], { explode: true });
    await until(() => world.options.length === 1, "the turn's start");
    first.close();
    release();
    await until(() => world.responses.length === 1, "the turn's end");
    await t.restart();
    ws = (await t.url()).replace(/^http/, "ws");

    const back = await ChatClient.open(ws, "e2");
    back.socket.send({ type: "cf_agent_stream_resume_request" });
    expect(await back.waitForType("cf_agent_stream_resuming")).toEqual({ type: "cf_agent_stream_resuming", id });
    back.socket.send({ type: "cf_agent_stream_resume_ack", id });
    expect(await back.done(id)).toMatchObject({ body: "no model configured for this tenant", error: true, replay: true, outcome: "error" });
    expect(back.responses(id)).toHaveLength(1);
    back.close();
  });
});

describe("resume after a restart", () => {
  test("the partial stream is replayed and ended; the message so far is kept, marked interrupted", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "r3");
    const id = client.send([userMessage("u1", "tell me a story")]);
    gate.text("Once ");
    gate.text("upon");
    await until(() => textOf(client.responses(id)) === "Once upon", "the first words");

    await t.restart();
    ws = (await t.url()).replace(/^http/, "ws");
    const back = await ChatClient.open(ws, "r3");
    const onConnect = back.frames.find(isType("cf_agent_chat_messages")) as { messages: UIMessage[] };
    expect(onConnect.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messageText(onConnect.messages[1])).toBe("Once upon");
    expect(onConnect.messages[1]!.metadata).toEqual({ interrupted: true });
    expect(back.frames.find(isType("cf_agent_stream_resuming"))).toBeUndefined(); // nothing is live

    back.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p2" });
    expect(await back.waitForType("cf_agent_stream_resuming")).toEqual({ type: "cf_agent_stream_resuming", id, probeId: "p2" });
    back.socket.send({ type: "cf_agent_stream_resume_ack", id });
    const done = await back.done(id);
    expect(done).toMatchObject({ body: "", done: true, replay: true, outcome: "aborted", messageIds: ["u1"] });
    expect(textOf(back.responses(id))).toBe("Once upon");

    const stored = (await (await t.fetch("/agents/chat/r3/get-messages")).json()) as UIMessage[];
    expect(stored[1]).toMatchObject({ role: "assistant", metadata: { interrupted: true } });
    expect(stored[1]!.parts.find((p) => p.type === "text")).toMatchObject({ text: "Once upon", state: "done" });

    // The next turn replaces the interrupted stream.
    resetWorld(scriptedModel(textStream("The end.")));
    const next = back.send([...stored, userMessage("u2", "finish it")]);
    await back.done(next);
    expect(await t.get<Chat>("Chat", "r3").streamRows()).toBe(0);
    back.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p3" });
    expect(await back.waitForType("cf_agent_stream_resume_none")).toMatchObject({ probeId: "p3" });
    expect(((await t.get<Chat>("Chat", "r3").history()) as UIMessage[]).map(messageText)).toEqual([
      "tell me a story",
      "Once upon",
      "finish it",
      "The end.",
    ]);
    back.close();
  });
});
