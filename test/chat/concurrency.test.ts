/**
 * `messageConcurrency` "merge" and `{ strategy: "debounce" }`, and the rule that the policy applies
 * only to new messages (`trigger: "submit-message"`), not to regenerations.
 */
import type { LanguageModelV4Prompt } from "@ai-sdk/provider";
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { MessageConcurrency } from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, DropChat, resetWorld, world } from "./fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textOf, textStream, until, userMessage, type Frame } from "./helpers.ts";

class MergeChat extends Chat {
  messageConcurrency: MessageConcurrency = "merge";
}

/** A short quiet period: the test waits it out. */
class DebounceChat extends Chat {
  messageConcurrency: MessageConcurrency = { strategy: "debounce", debounceMs: 100 };
}

/** A quiet period no test waits out: what happens during it is what is tested. */
class PatientChat extends Chat {
  messageConcurrency: MessageConcurrency = { strategy: "debounce", debounceMs: 60_000 };
}

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { MergeChat, DebounceChat, PatientChat, DropChat }, time: "system" });
  return (await t.url()).replace(/^http/, "ws");
}

function userTexts(prompt: LanguageModelV4Prompt): string[] {
  return prompt.filter((m) => m.role === "user").map((m) => m.content.map((part) => (part.type === "text" ? part.text : "")).join(""));
}

/** A round trip on the socket: every frame sent before it has been handled by the agent. */
async function handled(client: ChatClient, marker: string): Promise<void> {
  client.socket.send(marker);
  await client.socket.waitFor((f: Frame | string) => typeof f === "object" && f.type === "echo" && f.message === marker);
}

describe('"merge"', () => {
  test("messages sent while a turn runs are merged into one, which gets one answer", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("answer to both"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "m1", "", "merge-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    const mark = client.frames.length;
    const three = client.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    expect(await client.done(two)).toMatchObject({ outcome: "skipped", messageIds: ["u1", "u2"] });
    // The sender is sent the merged conversation too (its own copy still has two messages).
    const merged = (await client.socket.waitFor(
      (f) => typeof f === "object" && f.type === "cf_agent_chat_messages" && (f.messages as UIMessage[]).some((m) => m.id === "u3"),
      mark,
    )) as { messages: UIMessage[] };
    expect(merged.messages.map((m) => m.id)).toEqual(["u1", "u3"]);
    gate.finish();
    // The ids the request carried, as sent: u2 is answered too, inside the merged message.
    expect(await client.done(three)).toMatchObject({ outcome: "completed", messageIds: ["u1", "u2", "u3"] });
    const history = (await t.get<Chat>("MergeChat", "m1").history()) as UIMessage[];
    expect(history.map(messageText)).toEqual(["one", "busy", "two\n\nthree", "answer to both"]);
    expect(history.map((m) => m.id).slice(0, 3)).toEqual(["u1", history[1]!.id, "u3"]);
    expect(model.prompts).toHaveLength(2);
    expect(userTexts(model.prompts[1]!)).toEqual(["one", "two\n\nthree"]);
    client.close();
  });

  test("a single message sent while a turn runs is queued as it is", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("second")));
    const ws = await env();
    const client = await ChatClient.open(ws, "m2", "", "merge-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("first");
    await until(() => textOf(client.responses(one)) === "first", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    gate.finish();
    expect(await client.done(two)).toMatchObject({ outcome: "completed" });
    const history = (await t.get<Chat>("MergeChat", "m2").history()) as UIMessage[];
    expect(history.map(messageText)).toEqual(["one", "first", "two", "second"]);
    client.close();
  });
});

describe('{ strategy: "debounce" }', () => {
  test("a message to an idle agent is answered at once; a burst during a turn gets one answer, to its last message", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("answer to the burst"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "d1", "", "debounce-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    const three = client.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    expect(await client.done(two)).toMatchObject({ outcome: "skipped" });
    gate.finish();
    expect(await client.done(three)).toMatchObject({ outcome: "completed", messageIds: ["u1", "u2", "u3"] });
    expect(textOf(client.responses(three))).toBe("answer to the burst");
    // Skipped messages stay in the conversation, unanswered.
    const history = (await t.get<Chat>("DebounceChat", "d1").history()) as UIMessage[];
    expect(history.map(messageText)).toEqual(["one", "busy", "two", "three", "answer to the burst"]);
    expect(model.prompts).toHaveLength(2);
    client.close();
  });

  test("while it waits for quiet, a newer message takes its place; a cancel ends the wait", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("never")));
    const ws = await env();
    const client = await ChatClient.open(ws, "d2", "", "patient-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    const two = client.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    await handled(client, "second message in");
    gate.finish();
    await client.done(one);
    // The queue is free, but the second message waits for a quiet period: no turn starts.
    await handled(client, "after the first turn");
    expect(world.options).toHaveLength(1);
    const three = client.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    expect(await client.done(two)).toMatchObject({ outcome: "skipped" });
    client.socket.send({ type: "cf_agent_chat_request_cancel", id: three });
    expect(await client.done(three)).toMatchObject({ outcome: "aborted" });
    expect(world.options).toHaveLength(1);
    client.close();
  });
});

describe("what the policy applies to", () => {
  test('a regeneration during a turn is queued, even under "drop"', async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("a better answer"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "r1", "", "drop-chat");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("first try");
    await until(() => textOf(client.responses(one)) === "first try", "the first turn streams");
    const again = client.send([userMessage("u1", "one")], { trigger: "regenerate-message" });
    gate.finish();
    expect(await client.done(again)).toMatchObject({ outcome: "completed" });
    expect(textOf(client.responses(again))).toBe("a better answer");
    expect(model.prompts).toHaveLength(2);
    client.close();
  });
});
