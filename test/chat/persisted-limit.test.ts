/**
 * `maxPersistedMessages`: storage keeps the newest N messages, across requests, although a client
 * sends back the whole conversation it holds, pruned messages included; the model sees what is
 * stored (`this.messages`), as with Cloudflare's AIChatAgent.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { chatEnv, resetWorld, type KeepLastChat } from "./fixture.ts";
import { ChatClient, messageText, scriptedModel, textStream, userMessage } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

const texts = (messages: UIMessage[]) => messages.map((m) => messageText(m));

/** What the model was given, as the texts of its messages. */
function promptTexts(prompt: Array<{ role: string; content: unknown }>): string[] {
  return prompt.map((message) =>
    typeof message.content === "string" ? message.content : (message.content as Array<{ text?: string }>).map((part) => part.text ?? "").join(""),
  );
}

describe("maxPersistedMessages", () => {
  test("a client's copies of pruned messages are not stored again, and a turn stored meanwhile is kept", async () => {
    const model = scriptedModel(textStream("a1"), textStream("a2"), textStream("a3"), textStream("a4"));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const tabA = await ChatClient.open(ws, "p1", "", "keep-last-chat");
    const tabB = await ChatClient.open(ws, "p1", "", "keep-last-chat");
    const stub = t.get<KeepLastChat>("KeepLastChat", "p1");
    // Both tabs hold the whole conversation, as useAgentChat does.
    let held: UIMessage[] = [userMessage("u1", "q1")];
    await tabA.done(tabA.send(held));
    held = [...held, (await stub.history()).at(-1)!, userMessage("u2", "q2")];
    await tabA.done(tabA.send(held));
    held = [...held, (await stub.history()).at(-1)!];
    expect(texts(await stub.history())).toEqual(["a1", "q2", "a2"]);
    // Tab B asks; tab A's request, sent before it saw that turn, still carries u1 (long pruned).
    await tabB.done(tabB.send([...held, userMessage("u3", "q3")]));
    expect(texts(await stub.history())).toEqual(["a2", "q3", "a3"]);
    const id = tabA.send([...held, userMessage("u4", "q4")]);
    expect(await tabA.done(id)).toMatchObject({ outcome: "completed" });
    // The new message goes after the turn stored meanwhile; the store never takes back q1 or q2.
    expect(texts(await stub.history())).toEqual(["a3", "q4", "a4"]);
    expect(await stub.storedRows()).toBe(3);
    // The model saw the stored conversation of that turn: the newest three messages.
    expect(promptTexts(model.prompts.at(-1)!)).toEqual(["q3", "a3", "q4"]);
    tabA.close();
    tabB.close();
  });

  test("a system message the server added, once pruned, does not make the client's requests refused", async () => {
    resetWorld(scriptedModel(textStream("a2")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "p2", "", "keep-last-chat");
    const stub = t.get<KeepLastChat>("KeepLastChat", "p2");
    const system: UIMessage = { id: "s0", role: "system", parts: [{ type: "text", text: "be brief" }] };
    const answer: UIMessage = { id: "a1", role: "assistant", parts: [{ type: "text", text: "a1" }] };
    const held = [system, userMessage("u1", "q1"), answer, userMessage("u2", "q2")];
    // The store keeps three of them; the client, which had the system message from before, holds all four.
    await stub.store(held);
    expect(texts(await stub.history())).toEqual(["q1", "a1", "q2"]);
    const id = client.send([...held, userMessage("u3", "q3")]);
    expect(await client.done(id)).toMatchObject({ outcome: "completed" });
    expect(texts(await stub.history())).toEqual(["q2", "q3", "a2"]);
    client.close();
  });

  test("an edit from a client that holds none of the stored messages is refused, not taken as clearing the conversation", async () => {
    resetWorld(scriptedModel(textStream("unused")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "p3", "", "keep-last-chat");
    const stub = t.get<KeepLastChat>("KeepLastChat", "p3");
    const answer = (id: string, text: string): UIMessage => ({ id, role: "assistant", parts: [{ type: "text", text }] });
    await stub.store([userMessage("u1", "q1"), answer("a1", "a1"), userMessage("u2", "q2"), answer("a2", "a2"), userMessage("u3", "q3")]);
    expect(texts(await stub.history())).toEqual(["q2", "a2", "q3"]);
    // A stale tab that only ever saw the first turn edits its copy: all of it was pruned.
    const mark = client.frames.length;
    client.socket.send({ type: "cf_agent_chat_messages", messages: [userMessage("u1", "q1 (edited)"), answer("a1", "a1")] });
    const refused = await client.waitForType("hearth_error", mark);
    expect(refused.error).toMatch(/none of these messages is stored any more/);
    expect(texts(await stub.history())).toEqual(["q2", "a2", "q3"]);
    client.close();
  });
});
