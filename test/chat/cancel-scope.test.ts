/**
 * `cf_agent_chat_request_cancel` stops chat turns only: a client's tool result or approval waiting
 * in the queue is applied whatever id a cancel names, so no client can drop another's answer.
 */
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld, world } from "./fixture.ts";
import { ChatClient, messageText, scriptedModel, textStream, toolCallStream, until, userMessage, type Frame } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

/** A round trip on the socket: every frame sent before it has been handled by the agent. */
async function handled(client: ChatClient, marker: string): Promise<void> {
  client.socket.send(marker);
  await client.socket.waitFor((f: Frame | string) => typeof f === "object" && f.type === "echo" && f.message === marker);
}

describe("cancel", () => {
  test("a cancel naming a queued tool result's job does not drop it: it is applied and the turn continues", async () => {
    const model = scriptedModel(toolCallStream("c1", "getLocation", {}), textStream("You are in Paris."));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "x1");
    const eve = await ChatClient.open(ws, "x1");
    await ada.done(ada.send([userMessage("u1", "where am I?")], { clientTools: [{ name: "getLocation" }] }));
    const stub = t.get<Chat>("Chat", "x1");
    // A server turn that answers nothing holds the queue while the result comes in.
    world.quiet = true;
    const releaseFirst = holdTurns();
    const first = stub.idle();
    await until(() => world.options.length === 2, "the server turn");
    ada.socket.send({ type: "cf_agent_tool_result", toolCallId: "c1", toolName: "getLocation", output: { city: "Paris" }, autoContinue: true });
    ada.socket.send({ type: "cf_agent_stream_resume_request", probeId: "k1" });
    await ada.waitForType("cf_agent_stream_pending"); // the result is queued
    eve.socket.send({ type: "cf_agent_chat_request_cancel", id: "answer:c1" });
    eve.socket.send({ type: "cf_agent_chat_request_cancel", id: "c1" });
    await handled(eve, "after the cancels");

    releaseFirst();
    const releaseContinuation = holdTurns();
    expect(await first).toBe("completed");
    world.quiet = false;
    const updated = (await eve.waitForType("cf_agent_message_updated")) as { message: UIMessage };
    expect(updated.message.parts.find((p) => p.type === "tool-getLocation")).toMatchObject({ state: "output-available", output: { city: "Paris" } });
    releaseContinuation();
    const answered = async () => messageText(((await stub.history()) as UIMessage[])[1]) === "You are in Paris.";
    await until(answered, "the continuation");
    expect(model.prompts).toHaveLength(2);
    ada.close();
    eve.close();
  });
});
