/**
 * Approvals whose continuation could not start when it was due: the process stopped between
 * applying the approval and running the turn, or the turn queue was full. The approval is kept
 * and the turn continues when the agent next starts; a request refused as "full" stores nothing.
 */
import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { jsonSchema, tool, type UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, LatestChat, resetWorld, world } from "./fixture.ts";
import { ChatClient, chunksOf, Gate, messageText, scriptedModel, textOf, textStream, toolCallStream, usage, userMessage, until, type Frame } from "./helpers.ts";

/** Two waiting turns at most; the test may lower the limit while jobs wait. */
class ShrinkableChat extends Chat {
  chatLimits = { maxQueuedTurns: 2 };

  shrinkQueue(maxQueuedTurns: number): void {
    this.chatLimits = { maxQueuedTurns };
  }
}

/** "latest" with one waiting turn at most. */
class FullLatestChat extends LatestChat {
  chatLimits = { maxQueuedTurns: 1 };
}

let t: TestEnv;
afterEach(async () => {
  world.hold = undefined;
  await t?.close();
});

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { Chat, ShrinkableChat, FullLatestChat }, time: "system" });
  return wsBase();
}

async function wsBase(): Promise<string> {
  return (await t.url()).replace(/^http/, "ws");
}

function removeTool(removed: string[]) {
  return {
    remove: tool({
      inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }),
      needsApproval: true,
      execute: async ({ path }) => {
        removed.push(path);
        return { removed: path };
      },
    }),
  };
}

function toolParts(message: UIMessage | undefined): Array<Record<string, unknown>> {
  return (message?.parts ?? []).filter((p) => p.type.startsWith("tool-")) as Array<Record<string, unknown>>;
}

/** A model step that streams one tool call, then waits for `finish()` before it ends. */
function heldToolCall(toolCallId: string, toolName: string, input: unknown) {
  let controller!: ReadableStreamDefaultController<LanguageModelV4StreamPart>;
  const stream = new ReadableStream<LanguageModelV4StreamPart>({ start: (c) => void (controller = c) });
  controller.enqueue({ type: "stream-start", warnings: [] });
  controller.enqueue({ type: "tool-call", toolCallId, toolName, input: JSON.stringify(input) });
  return {
    stream,
    finish() {
      controller.enqueue({ type: "finish", finishReason: { unified: "tool-calls", raw: "tool-calls" }, usage: usage(5, 5) });
      controller.close();
    },
  };
}

/** Waits until the queue is idle: a resume probe is answered "none" only then. */
async function settled(client: ChatClient, probeId: string): Promise<void> {
  client.socket.send({ type: "cf_agent_stream_resume_request", probeId });
  await client.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_stream_resume_none" && f.probeId === probeId);
}

describe("an approval whose continuation never ran", () => {
  test("the process stopped after the approval was applied: the turn continues on the next start, the tool runs once", async () => {
    const removed: string[] = [];
    const model = scriptedModel(toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Deleted a.txt."));
    resetWorld(model, removeTool(removed));
    const ws = await env();
    const client = await ChatClient.open(ws, "r1");
    await client.done(client.send([userMessage("u1", "delete a.txt")]));

    // The continuation never gets past onChatMessage in this process: it stops there.
    world.hold = new Promise(() => {});
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    const updated = (await client.waitForType("cf_agent_message_updated")) as { message: UIMessage };
    expect(toolParts(updated.message)).toMatchObject([{ state: "approval-responded", approval: { approved: true } }]);
    await until(() => world.options.length === 2, "the continuation started");
    client.close();

    await t.restart();
    world.hold = undefined;
    // What the restart found: the approved call, no stream, nothing run.
    expect(removed).toEqual([]);
    expect(model.prompts).toHaveLength(1);

    // Waking the agent (here a stub call, no client) is enough.
    const stub = t.get<Chat>("Chat", "r1");
    await until(async () => messageText(((await stub.history()) as UIMessage[])[1]) === "Deleted a.txt.", "the continuation after the restart");
    const history = (await stub.history()) as UIMessage[];
    expect(history.map((m) => m.id)).toEqual(["u1", history[1]!.id]);
    expect(toolParts(history[1])).toMatchObject([{ state: "output-available", output: { removed: "a.txt" }, approval: { approved: true } }]);
    expect(removed).toEqual(["a.txt"]);
    expect(world.options.at(-1)).toMatchObject({ continuation: true });

    // Nothing is due any more: another start runs nothing.
    await t.restart();
    expect(await t.get<Chat>("Chat", "r1").storedRows()).toBe(2);
    await settled(await ChatClient.open(await wsBase(), "r1"), "after");
    expect(removed).toEqual(["a.txt"]);
    expect(model.prompts).toHaveLength(2);
  });
});

describe("an approval when the turn queue is full", () => {
  test("refused when it arrives at a full queue: the client is told, nothing is applied, a later approval works", async () => {
    const removed: string[] = [];
    const held = heldToolCall("d1", "remove", { path: "a.txt" });
    const model = scriptedModel(held.stream, textStream("Deleted a.txt."));
    resetWorld(model, removeTool(removed));
    const ws = await env();
    const client = await ChatClient.open(ws, "f1", "", "shrinkable-chat");
    const stub = t.get<ShrinkableChat>("ShrinkableChat", "f1");
    const id = client.send([userMessage("u1", "delete a.txt")]);
    await until(() => chunksOf(client.responses(id)).some((c) => c.type === "tool-approval-request"), "the approval request streams");
    await stub.shrinkQueue(1);
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    const mark = client.frames.length;
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    expect((await client.waitForType("hearth_error", mark)).error).toMatch(/^cf_agent_tool_approval: too many turns are waiting \(maxQueuedTurns\)$/);
    held.finish();
    await client.done(id);
    // The first approval waited its turn and continues the answer; the refused one changed nothing.
    await until(async () => messageText(((await stub.history()) as UIMessage[])[1]) === "Deleted a.txt.", "the continuation");
    expect(removed).toEqual(["a.txt"]);
    client.close();
  });

  test("applied when the queue is full at the moment it continues: the client is told, and the turn continues on the next start", async () => {
    const removed: string[] = [];
    const held = heldToolCall("d1", "remove", { path: "a.txt" });
    const model = scriptedModel(held.stream, textStream("Deleted a.txt."));
    resetWorld(model, removeTool(removed));
    const ws = await env();
    const client = await ChatClient.open(ws, "f2", "", "shrinkable-chat");
    const stub = t.get<ShrinkableChat>("ShrinkableChat", "f2");
    const id = client.send([userMessage("u1", "delete a.txt")]);
    await until(() => chunksOf(client.responses(id)).some((c) => c.type === "tool-approval-request"), "the approval request streams");
    // The user approves from the live stream, twice (a double click); both wait behind the turn.
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    await handled(client, "approvals sent");
    // The limit drops while they wait: when the first is applied, the second fills the queue.
    await stub.shrinkQueue(1);
    const mark = client.frames.length;
    held.finish();
    await client.done(id);
    const error = (await client.waitForType("hearth_error", mark)).error as string;
    expect(error).toMatch(/^cf_agent_tool_approval: applied, but the turn cannot continue yet: too many turns are waiting \(maxQueuedTurns\); it continues when the agent next starts$/);
    await settled(client, "drained");

    // The approval is stored; nothing ran.
    const stored = (await stub.history()) as UIMessage[];
    expect(toolParts(stored[1])).toMatchObject([{ toolCallId: "d1", state: "approval-responded", approval: { approved: true } }]);
    expect(removed).toEqual([]);
    expect(model.prompts).toHaveLength(1);
    expect(client.frames.slice(mark).filter((f) => typeof f === "object" && f.type === "hearth_error")).toHaveLength(1);
    client.close();

    await t.restart();
    const again = t.get<ShrinkableChat>("ShrinkableChat", "f2");
    await until(async () => messageText(((await again.history()) as UIMessage[])[1]) === "Deleted a.txt.", "the continuation after the restart");
    const history = (await again.history()) as UIMessage[];
    expect(history).toHaveLength(2);
    expect(history[1]!.id).toBe(stored[1]!.id);
    expect(toolParts(history[1])).toMatchObject([{ state: "output-available", output: { removed: "a.txt" } }]);
    expect(removed).toEqual(["a.txt"]);
    expect(model.prompts).toHaveLength(2);
  });
});

/** A round trip on the socket: the frames sent before it have been handled. */
async function handled(client: ChatClient, marker: string): Promise<void> {
  client.socket.send(marker);
  await client.socket.waitFor((f: Frame | string) => typeof f === "object" && f.type === "echo" && f.message === marker);
}

describe('"latest" at a full queue', () => {
  test("a request refused as full stores nothing", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream("the follow-up"));
    resetWorld(model);
    const ws = await env();
    const client = await ChatClient.open(ws, "l1", "", "full-latest-chat");
    const stub = t.get<FullLatestChat>("FullLatestChat", "l1");
    const one = client.send([userMessage("u1", "one")]);
    gate.text("busy");
    await until(() => textOf(client.responses(one)) === "busy", "the first turn streams");
    // A programmatic turn waits: under "latest" a request does not replace it, so the queue is full.
    const followUp = stub.save([userMessage("u1", "one"), userMessage("p1", "and then?")]);
    await until(async () => (await stub.storedRows()) === 2, "the programmatic turn's message");
    const before = (await stub.history()) as UIMessage[];

    const two = client.send([userMessage("u1", "one"), userMessage("p1", "and then?"), userMessage("u2", "two")]);
    const refused = await client.done(two);
    expect(await stub.history()).toEqual(before);
    expect(await stub.storedRows()).toBe(2);
    expect(refused).toMatchObject({ error: true, outcome: "error" });
    expect(refused.body).toMatch(/1 turns are already waiting; the limit is 1 \(maxQueuedTurns\)/);

    gate.finish();
    expect(await followUp).toMatchObject({ status: "completed" });
    const history = (await stub.history()) as UIMessage[];
    expect(history.map((m) => m.id)).not.toContain("u2");
    expect(history.map(messageText)).toEqual(["one", "busy", "and then?", "the follow-up"]);
    expect(model.prompts).toHaveLength(2);
    client.close();
  });
});
