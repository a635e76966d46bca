/**
 * Tools in a conversation: server tools run inside the turn; client tools end the turn with the
 * call waiting until a client sends its result; tools that need approval pause the turn, without
 * keeping the agent in memory, until any client approves or rejects — after hibernation or a
 * restart too — and the turn continues.
 */
import { jsonSchema, tool, type UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type { TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, holdTurns, resetWorld, world } from "./fixture.ts";
import { ChatClient, chunksOf, messageText, scriptedModel, textStream, toolCallStream, until, userMessage, type Frame } from "./helpers.ts";

let t: TestEnv;
afterEach(async () => {
  await t?.close();
});

const pathInput = jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] });

function toolParts(message: UIMessage | undefined): Array<Record<string, unknown>> {
  return (message?.parts ?? []).filter((p) => p.type.startsWith("tool-")) as Array<Record<string, unknown>>;
}

/** Waits for a continuation's terminal frame (its request id is the server's). */
async function continuationDone(client: ChatClient, from = 0): Promise<Frame> {
  return (await client.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.done === true && f.continuation === true, from)) as Frame;
}

describe("server tools", () => {
  test("run inside the turn; the call, its output and the answer stream and are stored", async () => {
    const calls: unknown[] = [];
    resetWorld(scriptedModel(toolCallStream("w1", "weather", { city: "Paris" }), textStream("Sunny in Paris.")), {
      weather: tool({
        inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } } }),
        execute: async (input) => {
          calls.push(input);
          return { sky: "clear" };
        },
      }),
    });
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "t1");
    const id = client.send([userMessage("u1", "weather in Paris?")]);
    await client.done(id);
    const types = chunksOf(client.responses(id)).map((c) => c.type);
    expect(types).toContain("tool-input-available");
    expect(types.indexOf("tool-output-available")).toBeLessThan(types.indexOf("text-delta"));
    expect(calls).toEqual([{ city: "Paris" }]);
    const [, answer] = (await t.get<Chat>("Chat", "t1").history()) as UIMessage[];
    expect(toolParts(answer)).toMatchObject([{ type: "tool-weather", state: "output-available", output: { sky: "clear" } }]);
    expect(messageText(answer)).toBe("Sunny in Paris.");
    client.close();
  });
});

describe("client tools", () => {
  test("a result whose continuation had not started when the process stopped is continued at the next start, once", async () => {
    const model = scriptedModel(toolCallStream("c1", "getLocation", {}), textStream("You are in Paris."));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "t5");
    await client.done(client.send([userMessage("u1", "where am I?")], { clientTools: [{ name: "getLocation" }] }));
    const stub = t.get<Chat>("Chat", "t5");
    // Two server turns that answer nothing: the first holds the queue while the result comes in,
    // the second, queued after the result, holds the continuation back when the process stops.
    world.quiet = true;
    const releaseFirst = holdTurns();
    const first = stub.idle();
    await until(() => world.options.length === 2, "the first server turn");
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "c1", toolName: "getLocation", output: { city: "Paris" }, autoContinue: true });
    client.socket.send({ type: "cf_agent_stream_resume_request", probeId: "k1" });
    await client.waitForType("cf_agent_stream_pending"); // the result is queued
    const second = stub.idle().catch(() => "gone");
    releaseFirst();
    const releaseSecond = holdTurns();
    expect(await first).toBe("completed");
    await client.waitForType("cf_agent_message_updated");
    await until(() => world.options.length === 3, "the second server turn");
    client.close();
    world.hold = undefined;
    world.quiet = false;
    await t.restart();

    ws = (await t.url()).replace(/^http/, "ws");
    const back = await ChatClient.open(ws, "t5");
    const answered = async () => messageText(((await t.get<Chat>("Chat", "t5").history()) as UIMessage[])[1]) === "You are in Paris.";
    await until(answered, "the continuation");
    expect(model.prompts).toHaveLength(2);
    expect(JSON.stringify(model.prompts[1])).toContain("Paris");
    back.close();
    await t.restart();
    // Nothing runs at this start: resume_none says no turn runs or waits.
    const later = await ChatClient.open((await t.url()).replace(/^http/, "ws"), "t5");
    later.socket.send({ type: "cf_agent_stream_resume_request" });
    expect(await later.waitForType("cf_agent_stream_resume_none")).toMatchObject({ reason: "idle" });
    later.close();
    expect(((await t.get<Chat>("Chat", "t5").history()) as UIMessage[]).map(messageText)).toEqual(["where am I?", "You are in Paris."]);
    expect(model.prompts).toHaveLength(2);
    releaseSecond();
    await second;
  });

  test("the turn waits for the client's result, then continues the same message", async () => {
    const model = scriptedModel(toolCallStream("c1", "getLocation", {}), textStream("You are in Paris."));
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "t2");
    const observer = await ChatClient.open(ws, "t2");
    const clientTools = [{ name: "getLocation", description: "The user's city", parameters: { type: "object", properties: {} } }];
    const id = client.send([userMessage("u1", "where am I?")], { clientTools });
    await client.done(id);
    const [, asked] = (await t.get<Chat>("Chat", "t2").history()) as UIMessage[];
    expect(toolParts(asked)).toMatchObject([{ type: "tool-getLocation", toolCallId: "c1", state: "input-available" }]);

    // The turn continues once the result is in; a client waiting for it is told when it streams.
    const release = holdTurns();
    const mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "c1", toolName: "getLocation", output: { city: "Paris" }, autoContinue: true });
    client.socket.send({ type: "cf_agent_stream_resume_request", probeId: "k1" });
    const updated = (await observer.waitForType("cf_agent_message_updated")) as { message: UIMessage };
    expect(toolParts(updated.message)).toMatchObject([{ toolCallId: "c1", state: "output-available", output: { city: "Paris" } }]);
    expect(await client.socket.waitForType("cf_agent_stream_pending", mark)).toEqual({ type: "cf_agent_stream_pending", probeId: "k1" });
    release();
    const resuming = await client.socket.waitForType("cf_agent_stream_resuming", mark);
    expect(resuming).toMatchObject({ probeId: "k1" });
    client.socket.send({ type: "cf_agent_stream_resume_ack", id: resuming.id });
    const done = await continuationDone(client, mark);
    expect(done.id).toBe(resuming.id);
    // The continuation's start names no message: clients append to the answer they show.
    const started = chunksOf(client.responses(done.id as string)).find((c) => c.type === "start");
    expect(started).toBeDefined();
    expect(started!.messageId).toBeUndefined();
    expect(client.responses(done.id as string).every((f) => f.continuation === true)).toBe(true);
    // The observer (no handshake) saw the live continuation too.
    await continuationDone(observer);

    expect(JSON.stringify(model.prompts[1])).toContain("Paris");
    expect(world.options[1]).toMatchObject({ continuation: true, clientTools });
    const history = (await t.get<Chat>("Chat", "t2").history()) as UIMessage[];
    expect(history).toHaveLength(2);
    expect(history[1]!.id).toBe(asked!.id);
    expect(toolParts(history[1])).toMatchObject([{ state: "output-available", output: { city: "Paris" } }]);
    expect(messageText(history[1])).toBe("You are in Paris.");
    client.close();
    observer.close();
  });

  test("a tool the agent declares without execute is answered by a client that declared no tools", async () => {
    // The Agents SDK's client-side tool: the server has the tool but no `execute`; the page answers
    // it from onToolCall with addToolOutput, without `tools` of its own (so no clientTools).
    const model = scriptedModel(toolCallStream("c1", "getLocation", {}), textStream("You are in Paris."));
    resetWorld(model, { getLocation: tool({ description: "The user's city", inputSchema: jsonSchema({ type: "object", properties: {} }) }) });
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "t6");
    await client.done(client.send([userMessage("u1", "where am I?")]));
    expect(world.options[0]!.clientTools).toBeUndefined();
    const [, asked] = (await t.get<Chat>("Chat", "t6").history()) as UIMessage[];
    expect(toolParts(asked)).toMatchObject([{ type: "tool-getLocation", toolCallId: "c1", state: "input-available" }]);

    const mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "c1", toolName: "getLocation", output: { city: "Paris" }, autoContinue: true });
    await continuationDone(client, mark);
    expect(client.frames.slice(mark).filter((f) => typeof f === "object" && f.type === "hearth_error")).toEqual([]);
    expect(JSON.stringify(model.prompts[1])).toContain("Paris");
    const history = (await t.get<Chat>("Chat", "t6").history()) as UIMessage[];
    expect(history).toHaveLength(2);
    expect(toolParts(history[1])).toMatchObject([{ state: "output-available", output: { city: "Paris" } }]);
    expect(messageText(history[1])).toBe("You are in Paris.");
    client.close();
  });

  test("parallel calls: the turn continues once, after the last result", async () => {
    const model = scriptedModel(
      [
        { type: "stream-start", warnings: [] },
        { type: "tool-call", toolCallId: "a", toolName: "ask", input: "{}" },
        { type: "tool-call", toolCallId: "b", toolName: "ask", input: "{}" },
        { type: "finish", finishReason: { unified: "tool-calls", raw: "tool-calls" }, usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } } },
      ],
      textStream("Both answered."),
    );
    resetWorld(model);
    let ws: string;
    ({ t, ws } = await chatEnv());
    const client = await ChatClient.open(ws, "t3");
    await client.done(client.send([userMessage("u1", "ask twice")], { clientTools: [{ name: "ask" }] }));
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "a", toolName: "ask", output: 1, autoContinue: true });
    client.socket.send({ type: "cf_agent_tool_result", toolCallId: "b", toolName: "ask", output: 2, autoContinue: true });
    await continuationDone(client);
    expect(model.prompts).toHaveLength(2);
    const history = (await t.get<Chat>("Chat", "t3").history()) as UIMessage[];
    expect(toolParts(history[1]).map((p) => p.output)).toEqual([1, 2]);
    expect(messageText(history[1])).toBe("Both answered.");
    expect(world.responses.filter((r) => r.continuation)).toHaveLength(1);
    client.close();
  });
});

describe("tool approval", () => {
  function deleteTool(removed: string[]) {
    return {
      remove: tool({
        inputSchema: pathInput,
        needsApproval: true,
        execute: async ({ path }) => {
          removed.push(path);
          return { removed: path };
        },
      }),
    };
  }

  test("the turn pauses without keeping the agent in memory; another client approves after hibernation", async () => {
    const removed: string[] = [];
    resetWorld(scriptedModel(toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Deleted a.txt.")), deleteTool(removed));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "t4");
    await ada.done(ada.send([userMessage("u1", "delete a.txt")]));
    ada.close();
    const [, paused] = (await t.get<Chat>("Chat", "t4").history()) as UIMessage[];
    expect(toolParts(paused)).toMatchObject([{ type: "tool-remove", state: "approval-requested", approval: { id: expect.any(String) } }]);
    expect(removed).toEqual([]);

    // Nothing holds the agent: it hibernates.
    expect(t.hibernate()).toBe(1);
    expect(t.host.stats.liveAgents).toBe(0);

    const bob = await ChatClient.open(ws, "t4");
    const onConnect = bob.frames.find((f) => typeof f === "object" && f.type === "cf_agent_chat_messages") as { messages: UIMessage[] };
    expect(toolParts(onConnect.messages[1])).toMatchObject([{ state: "approval-requested" }]);
    bob.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    const updated = (await bob.waitForType("cf_agent_message_updated")) as { message: UIMessage };
    expect(toolParts(updated.message)).toMatchObject([{ state: "approval-responded", approval: { approved: true } }]);
    await continuationDone(bob);
    expect(removed).toEqual(["a.txt"]);
    const history = (await t.get<Chat>("Chat", "t4").history()) as UIMessage[];
    expect(toolParts(history[1])).toMatchObject([{ state: "output-available", output: { removed: "a.txt" }, approval: { approved: true } }]);
    expect(messageText(history[1])).toBe("Deleted a.txt.");
    // A second approval of the same call changes nothing and runs nothing.
    bob.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    bob.socket.send({ type: "cf_agent_stream_resume_request", probeId: "after" });
    await bob.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_stream_resume_none" && f.probeId === "after");
    expect(removed).toEqual(["a.txt"]);
    bob.close();
  });

  test("a rejection after a restart: the tool never runs, the turn continues with the denial", async () => {
    const removed: string[] = [];
    const model = scriptedModel(toolCallStream("d2", "remove", { path: "b.txt" }), textStream("I left b.txt alone."));
    resetWorld(model, deleteTool(removed));
    let ws: string;
    ({ t, ws } = await chatEnv());
    const ada = await ChatClient.open(ws, "t5");
    await ada.done(ada.send([userMessage("u1", "delete b.txt")]));
    ada.close();

    await t.restart();
    ws = (await t.url()).replace(/^http/, "ws");
    const bob = await ChatClient.open(ws, "t5");
    bob.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d2", approved: false, autoContinue: true });
    await continuationDone(bob);
    expect(removed).toEqual([]);
    const history = (await t.get<Chat>("Chat", "t5").history()) as UIMessage[];
    expect(toolParts(history[1])).toMatchObject([{ state: "output-denied", approval: { approved: false } }]);
    expect(messageText(history[1])).toBe("I left b.txt alone.");
    expect(model.prompts).toHaveLength(2);
    bob.close();
  });
});
