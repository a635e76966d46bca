/**
 * The id of the reply being streamed belongs to that reply before it is stored: a client message
 * that reuses it with another role is refused (a chat request with an error response, a
 * `cf_agent_chat_messages` frame with `hearth_error`), and the stored conversation stays as it was.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, resetWorld } from "./fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textStream, userMessage } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

/** Starts a turn that streams "partial " and waits; returns its id and the id of the reply. */
async function liveReply(owner: ChatClient, watcher: ChatClient, gate: Gate): Promise<{ id: string; messageId: string }> {
  const id = owner.send([userMessage("u1", "hi")]);
  const start = await watcher.socket.waitFor((f) => typeof f === "object" && f.id === id && f.seq === 0);
  gate.text("partial ");
  await owner.socket.waitFor((f) => typeof f === "object" && f.id === id && f.seq === 1);
  return { id, messageId: (JSON.parse((start as { body: string }).body) as { messageId: string }).messageId };
}

describe("the id of the reply being streamed", () => {
  test("a user message that reuses it is refused; the reply is stored under its id and the next turn answers as usual", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("second")));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "l1");
    const bob = await ChatClient.open(ws, "l1");
    const live = await liveReply(ada, bob, gate);

    const hijack = bob.send([userMessage("u1", "hi"), userMessage(live.messageId, "bob reuses the id")]);
    const refused = await bob.done(hijack);
    expect(refused).toMatchObject({ done: true, error: true, outcome: "error" });
    expect(refused.body).toMatch(/has the id of the reply being streamed/);

    gate.finish();
    expect(await ada.done(live.id)).toMatchObject({ outcome: "completed" });
    const history = (await t.get<Chat>("Chat", "l1").history()) as UIMessage[];
    expect(history.map((m) => [m.id, m.role, messageText(m)])).toEqual([
      ["u1", "user", "hi"],
      [live.messageId, "assistant", "partial "],
    ]);

    const next = ada.send([...history, userMessage("u2", "again")]);
    expect(await ada.done(next)).toMatchObject({ outcome: "completed" });
    const after = (await t.get<Chat>("Chat", "l1").history()) as UIMessage[];
    expect(after.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(messageText(after[1])).toBe("partial ");
    expect(messageText(after[3])).toBe("second");
    ada.close();
    bob.close();
  });

  test("an edit that stores a user message under it is refused with hearth_error", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "l2");
    const bob = await ChatClient.open(ws, "l2");
    const live = await liveReply(ada, bob, gate);

    const mark = bob.frames.length;
    bob.socket.send({ type: "cf_agent_chat_messages", messages: [userMessage("u1", "hi"), userMessage(live.messageId, "edit")] });
    expect((await bob.waitForType("hearth_error", mark)).error).toMatch(/cf_agent_chat_messages: .*has the id of the reply being streamed/);

    gate.finish();
    await ada.done(live.id);
    const history = (await t.get<Chat>("Chat", "l2").history()) as UIMessage[];
    expect(history.map((m) => [m.id, m.role])).toEqual([
      ["u1", "user"],
      [live.messageId, "assistant"],
    ]);
    ada.close();
    bob.close();
  });
});
