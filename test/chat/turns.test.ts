/**
 * Turns over time: cancelling a running or a queued turn, the concurrency policies (queue,
 * latest, drop), and many conversations at once.
 */
import type { LanguageModelV4Prompt } from "@ai-sdk/provider";
import type { UIMessage } from "ai";
import { simulateReadableStream } from "ai/test";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld, world } from "./fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textOf, textStream, until, userMessage } from "./helpers.ts";

function lastUserText(prompt: LanguageModelV4Prompt): string {
  const last = prompt.at(-1)!;
  return last.role === "user" ? last.content.map((part) => (part.type === "text" ? part.text : "")).join("") : "";
}

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

describe("cancellation", () => {
  test("cancelling the running turn aborts the model call, ends the stream and keeps what was produced", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("fresh start")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "c1");
    const id = client.send([userMessage("u1", "write an essay")]);
    gate.text("In the ");
    gate.text("beginning");
    await until(() => textOf(client.responses(id)) === "In the beginning", "the first words");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id });
    expect(await client.done(id)).toMatchObject({ done: true, outcome: "aborted", messageIds: ["u1"] });
    expect(world.options[0]!.abortSignal.aborted).toBe(true);
    await until(() => world.responses.length === 1, "the turn's end");
    expect(world.responses[0]).toMatchObject({ requestId: id, status: "aborted" });

    const history = (await t.get<Chat>("Chat", "c1").history()) as UIMessage[];
    expect(history.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(history[1]!.parts.find((p) => p.type === "text")).toMatchObject({ text: "In the beginning", state: "done" });

    // The agent goes on: the next request is answered.
    const next = client.send([...history, userMessage("u2", "again")]);
    await client.done(next);
    expect(textOf(client.responses(next))).toBe("fresh start");
    client.close();
  });

  test("a cancel ends the turn even while onChatMessage has not returned", async () => {
    resetWorld(scriptedModel((call) => textStream(`answer to ${lastUserText(call.prompt)}`)));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "c3");
    const release = holdTurns();
    const id = client.send([userMessage("u1", "slow start")]);
    await until(() => world.options.length === 1, "onChatMessage called");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id });
    expect(await client.done(id)).toMatchObject({ outcome: "aborted" });
    expect(world.responses).toMatchObject([{ requestId: id, status: "aborted", message: undefined }]);
    release();
    // Its late reply is dropped unread; the agent goes on with the next request.
    const next = client.send([userMessage("u1", "slow start"), userMessage("u2", "now")]);
    await client.done(next);
    expect(textOf(client.responses(next))).toBe("answer to now");
    expect(textOf(client.responses(id))).toBe("");
    client.close();
  });

  test("cancelling a queued request takes it out of the queue before it runs", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("never"));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "c2");
    const first = client.send([userMessage("u1", "one")]);
    gate.text("working");
    await until(() => textOf(client.responses(first)) === "working", "the first turn streams");
    const second = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    client.socket.send({ type: "cf_agent_chat_request_cancel", id: second });
    expect(await client.done(second)).toMatchObject({ outcome: "aborted", body: "" });
    gate.finish();
    await client.done(first);
    await t.get<Chat>("Chat", "c2").storedRows(); // a round trip: the queue had its chance to run
    expect(model.prompts).toHaveLength(1);
    client.close();
  });
});

describe("clearing the conversation", () => {
  test("cf_agent_chat_clear empties it everywhere and ends the running turn", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("fresh")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "x1");
    const bob = await ChatClient.open(ws, "x1");
    const id = ada.send([userMessage("u1", "long answer please")]);
    gate.text("Once");
    await until(() => textOf(ada.responses(id)) === "Once", "the turn streams");
    bob.socket.send({ type: "cf_agent_chat_clear" });
    expect(await ada.done(id)).toMatchObject({ outcome: "aborted" });
    await ada.waitForType("cf_agent_chat_clear");
    const stub = t.get<Chat>("Chat", "x1");
    expect(await stub.storedRows()).toBe(0);
    expect(await stub.streamRows()).toBe(0);
    // The cleared turn's model call was aborted, and the turn stored nothing.
    expect(world.options[0]!.abortSignal.aborted).toBe(true);
    const next = ada.send([userMessage("n1", "new start")]);
    await ada.done(next);
    expect(((await stub.history()) as UIMessage[]).map(messageText)).toEqual(["new start", "fresh"]);
    ada.close();
    bob.close();
  });

  test("a turn that has not started streaming is ended too", async () => {
    resetWorld(scriptedModel(textStream("never shown")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "x2");
    const release = holdTurns();
    const id = client.send([userMessage("u1", "hi")]);
    await until(() => world.options.length === 1, "onChatMessage called");
    client.socket.send({ type: "cf_agent_chat_clear" });
    expect(await client.done(id)).toMatchObject({ outcome: "aborted" });
    release();
    expect(await t.get<Chat>("Chat", "x2").storedRows()).toBe(0);
    client.close();
  });
});

describe("concurrency policy", () => {
  test('"queue" (default): a request sent during a turn waits, and its answer follows the first one', async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("second answer"));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "q1");
    const first = client.send([userMessage("u1", "first question")]);
    gate.text("first answer");
    await until(() => textOf(client.responses(first)) === "first answer", "the first turn streams");
    // Sent before the first answer is complete, so it does not contain it.
    const second = client.send([userMessage("u1", "first question"), userMessage("u2", "second question")]);
    gate.finish();
    await client.done(first);
    await client.done(second);
    const history = (await t.get<Chat>("Chat", "q1").history()) as UIMessage[];
    expect(history.map(messageText)).toEqual(["first question", "first answer", "second question", "second answer"]);
    // The second turn saw the first answer before its own question.
    const texts = (model.prompts[1] as LanguageModelV4Prompt).map((m) => JSON.stringify(m.content));
    expect(texts.findIndex((t) => t.includes("first answer"))).toBeLessThan(texts.findIndex((t) => t.includes("second question")));
    client.close();
  });

  test('"latest": a newer request replaces the ones still waiting', async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("answer to three"));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "l1", "", "latest-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    const three = client.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    expect(await client.done(two)).toMatchObject({ outcome: "skipped", messageIds: ["u1", "u2"] });
    gate.finish();
    await client.done(three);
    expect(model.prompts).toHaveLength(2);
    expect(textOf(client.responses(three))).toBe("answer to three");
    client.close();
  });

  test('"drop": a request during a turn is refused and nothing of it is stored', async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream);
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "d1", "", "drop-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    const mark = client.frames.length;
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    expect(await client.done(two)).toMatchObject({ outcome: "skipped" });
    // The sender gets the stored conversation back, to drop its optimistic message.
    const rollback = (await client.waitForType("cf_agent_chat_messages", mark)) as { messages: UIMessage[] };
    expect(rollback.messages.map((m) => m.id)).toEqual(["u1"]);
    gate.finish();
    await client.done(one);
    const history = (await t.get<Chat>("Chat", "d1").history()) as UIMessage[];
    expect(history.map((m) => m.id)).not.toContain("u2");
    expect(model.prompts).toHaveLength(1);
    client.close();
  });
});

describe("many conversations", () => {
  test("50 conversations stream at the same time, each its own answer, each stored", async () => {
    resetWorld(
      scriptedModel((call) => {
        const parts = textStream(`echo of ${lastUserText(call.prompt)}, word by word`);
        return simulateReadableStream({ chunks: parts, chunkDelayInMs: 1 });
      }),
    );
    let ws: string;
    ({ t, ws } = await chatEnv());
    const names = Array.from({ length: 50 }, (_, i) => `many-${i}`);
    const clients = await Promise.all(names.map((name) => ChatClient.open(ws, name)));
    const ids = clients.map((client, i) => client.send([userMessage("u1", `question ${i}`)]));
    await Promise.all(clients.map((client, i) => client.done(ids[i]!)));
    for (let i = 0; i < 50; i++) {
      expect(textOf(clients[i]!.responses(ids[i]!))).toBe(`echo of question ${i}, word by word`);
      // No conversation received another one's frames.
      expect(clients[i]!.frames.filter((f) => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.id !== ids[i])).toEqual([]);
    }
    const histories = await Promise.all(names.map((name) => t.get<Chat>("Chat", name).history()));
    histories.forEach((history, i) => expect((history as UIMessage[]).map(messageText)).toEqual([`question ${i}`, `echo of question ${i}, word by word`]));
    for (const client of clients) client.close();
  });
});

describe("programmatic turns", () => {
  test("onChatResponse may start the next turn with saveMessages; every client sees it", async () => {
    resetWorld(scriptedModel((call) => textStream(`answer to ${lastUserText(call.prompt)}`)));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "p1", "", "follow-up-chat");
    const id = client.send([userMessage("u1", "start")]);
    await client.done(id);
    // The follow-up turn has an id of its own; the client sees it as broadcast frames.
    const followUp = (await client.socket.waitFor(
      (f) => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.id !== id && f.done === true,
    )) as { id: string };
    expect(textOf(client.responses(followUp.id))).toBe("answer to and then?");
    await until(() => world.responses.length === 2, "both turns ended");
    const history = (await t.get<Chat>("FollowUpChat", "p1").history()) as UIMessage[];
    expect(history.map(messageText)).toEqual(["start", "answer to start", "and then?", "answer to and then?"]);
    client.close();
  });
});
