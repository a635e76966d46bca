/**
 * What `useAgentChat` reports about turns without a DOM (`TurnStatus`): `onTurnEnd` once per
 * request that ended — completed, failed (with the error), skipped — whoever sent it, held for this
 * tab's own requests until the chat settled; and `isRecovering` while the agent recovers a turn a
 * restart cut short. The frames come from a real agent over a real socket.
 */
import { afterEach, describe, expect, test } from "vitest";
import type { ChatRecoveryConfig } from "../../src/chat/index.ts";
import { chatRequestFrame, readChatFrame } from "../../src/client/chat-protocol.ts";
import { AgentClient } from "../../src/client/index.ts";
import { TurnStatus, type ChatTurnEndEvent } from "../../src/react/chat-turn-status.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, LatestChat, resetWorld, world } from "../chat/fixture.ts";
import { ChatClient, Gate, scriptedModel, textOf, textStream, until, userMessage } from "../chat/helpers.ts";

class RecoveringChat extends Chat {
  chatRecovery: ChatRecoveryConfig = true;
}

let t: TestEnv;
afterEach(async () => {
  world.hold = undefined;
  await t?.close();
});

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { Chat, LatestChat, RecoveringChat }, time: "system" });
  return (await t.url()).replace(/^http/, "ws");
}

const clients: AgentClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

/** A tab: a real connection feeding a TurnStatus from its first frame on, as the hook does. */
async function follow(binding: string, name: string, settling: (id: string) => boolean = () => false) {
  const client = new AgentClient({ host: new URL(await t.url()).host, agent: binding, name });
  clients.push(client);
  const ended: ChatTurnEndEvent[] = [];
  const recovering: boolean[] = [];
  const status = new TurnStatus({ settling, ended: (event) => ended.push(event), recoveringChanged: (value) => recovering.push(value) });
  client.addEventListener("message", (event) => {
    const frame = readChatFrame((event as MessageEvent).data);
    if (frame) status.handle(frame);
  });
  await client.ready;
  let sent = 0;
  const send = (messages: ReturnType<typeof userMessage>[], extra: Record<string, unknown> = {}) => {
    const id = `${name}-${++sent}`;
    client.send(chatRequestFrame(id, { messages, trigger: "submit-message", ...extra }));
    return id;
  };
  return { status, ended, recovering, send };
}

describe("onTurnEnd", () => {
  test("once per request that ended, with its outcome, its messages and its error", async () => {
    resetWorld(scriptedModel(textStream("fine")));
    const ws = await env();
    const tab = await follow("Chat", "e1");
    const sender = await ChatClient.open(ws, "e1");
    const ok = sender.send([userMessage("u1", "hello")]);
    await sender.done(ok);
    const failed = sender.send([userMessage("u1", "hello"), userMessage("u2", "again")], { explode: true });
    await sender.done(failed);
    await until(() => tab.ended.length === 2, "both ends reported");
    expect(tab.ended).toEqual([
      { requestId: ok, messageIds: ["u1"], outcome: "completed", replay: false },
      // The trailing user messages of the request as its client sent it (no reply between u1 and u2), as in the SDK.
      { requestId: failed, messageIds: ["u1", "u2"], outcome: "error", error: expect.stringContaining("no model configured for this tenant"), replay: false },
    ]);
    sender.close();
  });

  test("a request skipped under \"latest\" is reported skipped to its sender; an error chunk becomes the end's error", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, [{ type: "stream-start", warnings: [] }, { type: "error", error: new Error("the provider is down") }]));
    await env();
    const tab = await follow("LatestChat", "e2");
    const observer = await ChatClient.open((await t.url()).replace(/^http/, "ws"), "e2", "", "latest-chat");
    const one = tab.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(observer.responses(one)) === "busy", "the first turn streams");
    const two = tab.send([userMessage("u1", "one"), userMessage("u2", "two")]);
    const three = tab.send([userMessage("u1", "one"), userMessage("u2", "two"), userMessage("u3", "three")]);
    await until(() => tab.ended.length === 1, "the skipped request's end");
    gate.finish();
    await until(() => tab.ended.length === 3, "three ends reported");
    expect(tab.ended.map((e) => [e.requestId, e.outcome])).toEqual([
      [two, "skipped"],
      [one, "completed"],
      [three, "error"],
    ]);
    // The AI SDK masks the provider error in the stream; the end carries the error chunk text.
    expect(tab.ended[2]!.error).toBe("An error occurred.");
    observer.close();
  });

  test("this tab's own request is reported once the chat has settled", async () => {
    resetWorld(scriptedModel(textStream("fine")));
    const ws = await env();
    let settled = false;
    const tab = await follow("Chat", "e3", () => !settled);
    const sender = await ChatClient.open(ws, "e3");
    await sender.done(sender.send([userMessage("u1", "hello")]));
    await until(() => tab.status.recovering === false && sender.frames.length > 0, "frames in");
    // Held while the chat still streams it…
    await sender.done(sender.send([userMessage("u1", "hello"), userMessage("u2", "and?")]));
    expect(tab.ended).toEqual([]);
    settled = true;
    tab.status.flush();
    expect(tab.ended.map((e) => e.outcome)).toEqual(["completed", "completed"]);
    sender.close();
  });
});

describe("isRecovering", () => {
  test("true while the agent recovers a turn a restart cut short, false once the recovered turn ended", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream(" and the end.")));
    const ws = await env();
    const sender = await ChatClient.open(ws, "r1", "", "recovering-chat");
    const id = sender.send([userMessage("u1", "tell me")]);
    gate.text("The start");
    await until(() => textOf(sender.responses(id)) === "The start", "the turn streams");
    let release!: () => void;
    world.hold = new Promise((resolve) => (release = resolve));
    await t.restart();
    await until(() => world.options.length === 2, "the recovery continuation started");

    // A tab that connects during the recovery is told at once.
    const tab = await follow("RecoveringChat", "r1");
    await until(() => tab.status.recovering, "isRecovering");
    release();
    await until(() => !tab.status.recovering, "recovery over");
    expect(tab.recovering).toEqual([true, false]);
    // The continuation's end is reported with the interrupted request's messages.
    await until(() => tab.ended.length === 1, "the continuation's end");
    expect(tab.ended[0]).toMatchObject({ outcome: "completed", messageIds: ["u1"] });
    expect(tab.ended[0]!.requestId).not.toBe(id);
  });

  test("a request that ends as recovering is not reported; the one that continues it is", () => {
    const ended: ChatTurnEndEvent[] = [];
    const status = new TurnStatus({ settling: () => false, ended: (event) => ended.push(event), recoveringChanged: () => {} });
    status.handle({ type: "cf_agent_use_chat_response", id: "r1", body: "", done: true, outcome: "recovering", messageIds: ["u1"] });
    status.handle({ type: "cf_agent_chat_recovering", recovering: true, id: "r1" });
    expect(status.recovering).toBe(true);
    status.handle({ type: "cf_agent_use_chat_response", id: "r2", body: "", done: true, outcome: "completed", continuation: true, messageIds: ["u1"] });
    expect(ended).toEqual([{ requestId: "r2", messageIds: ["u1"], outcome: "completed", replay: false }]);
    expect(status.recovering).toBe(false);
  });
});
