/**
 * `messageIds` on a request's terminal frame: every trailing user message of the request as the
 * client sent it (the Agents SDK's origin message ids), never messages another client stored
 * meanwhile that the sender had not seen.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, resetWorld } from "./fixture.ts";
import { ChatClient, Gate, scriptedModel, textOf, textStream, userMessage, until } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

describe("messageIds of a terminal frame", () => {
  test("are the request's own: a message another client stored meanwhile is not among them", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("second answer")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "o1");
    const bob = await ChatClient.open(ws, "o1");
    const first = ada.send([userMessage("uA", "from ada")]);
    gate.text("partial ");
    await until(() => textOf(ada.responses(first)) === "partial ", "ada's turn streams");
    // Bob's copy predates uA: the agent keeps uA before Bob's message, but Bob did not send it.
    const second = bob.send([userMessage("uB", "from bob")]);
    await ada.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_chat_messages" && JSON.stringify(f.messages).includes('"uB"'));
    gate.finish();
    expect(await ada.done(first)).toMatchObject({ outcome: "completed", messageIds: ["uA"] });
    expect(await bob.done(second)).toMatchObject({ outcome: "completed", messageIds: ["uB"] });
    const history = (await t.get<Chat>("Chat", "o1").history()) as UIMessage[];
    // The users' messages by role: a reply's random id may start with any letter.
    expect(history.filter((m) => m.role === "user").map((m) => m.id)).toEqual(["uA", "uB"]);
    ada.close();
    bob.close();
  });

  test("are every trailing user message of the request, in order", async () => {
    resetWorld(scriptedModel(textStream("both")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "o2");
    const id = client.send([userMessage("m1", "one"), userMessage("m2", "two")]);
    expect(await client.done(id)).toMatchObject({ outcome: "completed", messageIds: ["m1", "m2"] });
    client.close();
  });
});
