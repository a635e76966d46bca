import { jsonSchema, tool, type UIMessage } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import type { ChatRecoveryConfig } from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, chatEnv, resetWorld, world } from "../chat/fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textOf, textStream, toolCallStream, until, userMessage } from "../chat/helpers.ts";
import { collect, type Collected } from "./collect.ts";

/** A chat whose turns a restart cut short are recovered. */
class RecoveringChat extends Chat {
  chatRecovery: ChatRecoveryConfig = true;
}

/** Gives recovery up at the second interruption without progress. */
class StuckChat extends Chat {
  chatRecovery: ChatRecoveryConfig = { noProgressTimeoutMs: 0 };
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  world.hold = undefined;
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
});

describe("chat events", () => {
  it("message:request and message:response for a turn, message:cancel for a cancel, message:clear for a clear", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(textStream("hello there"), gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e1");
    const first = client.send([userMessage("u1", "hi")]);
    await client.done(first);
    const second = client.send([userMessage("u1", "hi"), userMessage("u2", "more")]);
    gate.text("In the ");
    await until(() => textOf(client.responses(second)) === "In the ", "the first words");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id: second });
    await client.done(second);
    await until(() => world.responses.length === 2, "the second turn's end");
    client.socket.send({ type: "cf_agent_chat_clear" });
    await until(() => seen!.of("e1").some(([type]) => type === "message:clear"), "the clear");
    expect(seen.of("e1").filter(([type]) => type.startsWith("message:"))).toEqual([
      ["message:request", {}],
      ["message:response", {}],
      ["message:request", {}],
      ["message:cancel", { requestId: second }],
      ["message:clear", {}],
    ]);
    client.close();
  });

  it("tool:approval for an approval frame, message:error for a turn that fails", async () => {
    const remove = tool({
      inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }),
      needsApproval: true,
      execute: async ({ path }) => ({ removed: path }),
    });
    const failing = () => {
      throw new Error("model down");
    };
    resetWorld(scriptedModel(toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Deleted."), failing), { remove });
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e2");
    await client.done(client.send([userMessage("u1", "delete a.txt")]));
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    await until(() => world.responses.length === 2, "the continuation");
    const history = world.responses[1]!.message ? [userMessage("u1", "delete a.txt"), world.responses[1]!.message] : [];
    const failed = client.send([...history, userMessage("u2", "again")]);
    await client.done(failed);
    await until(() => seen!.of("e2").some(([type]) => type === "message:error"), "the error event");
    const events = seen.of("e2").filter(([type]) => type.startsWith("message:") || type.startsWith("tool:"));
    expect(events).toEqual([
      ["message:request", {}],
      ["message:response", {}],
      ["tool:approval", { toolCallId: "d1", approved: true }],
      ["message:request", {}],
      ["message:response", {}],
      ["message:request", {}],
      ["message:error", { error: "An error occurred." }], // the AI SDK masks the model's error in the stream
    ]);
    client.close();
  });

  it("chat:request:failed for a request refused before its turn (parse) and for a reply that failed (stream)", async () => {
    const failing = () => {
      throw new Error("model down");
    };
    resetWorld(scriptedModel(failing));
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e9");
    const refused = client.send([]);
    await client.done(refused);
    const failed = client.send([userMessage("u1", "hi")]);
    await client.done(failed);
    await until(() => seen!.of("e9").filter(([type]) => type === "chat:request:failed").length === 2, "two failures");
    expect(seen.of("e9").filter(([type]) => type === "chat:request:failed")).toEqual([
      ["chat:request:failed", { requestId: refused, stage: "parse", messagesPersisted: false, error: "a chat request needs at least one message" }],
      ["chat:request:failed", { requestId: failed, stage: "stream", messagesPersisted: true, error: expect.any(String) }],
    ]);
    client.close();
  });

  it("chat:turn:start and chat:turn:finish for each turn, with its trigger, admission and outcome", async () => {
    const remove = tool({
      inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }),
      needsApproval: true,
      execute: async ({ path }) => ({ removed: path }),
    });
    resetWorld(scriptedModel(textStream("hello"), toolCallStream("d1", "remove", { path: "a.txt" }), textStream("Deleted."), textStream("Saved.")), { remove });
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e3", "", "latest-chat");
    const first = client.send([userMessage("u1", "hi")]);
    await client.done(first);
    const history = () => [userMessage("u1", "hi"), world.responses.at(-1)!.message!];
    const second = client.send([...history(), userMessage("u2", "delete a.txt")]);
    await client.done(second);
    client.socket.send({ type: "cf_agent_tool_approval", toolCallId: "d1", approved: true, autoContinue: true });
    await until(() => world.responses.length === 3, "the continuation");
    const saved = await t.get<Chat>("LatestChat", "e3").save([...(await t.get<Chat>("LatestChat", "e3").history()), userMessage("u3", "note")]);
    const turns = seen.of("e3").filter(([type]) => type.startsWith("chat:turn:"));
    const continuation = (turns[4]![1] as { requestId: string }).requestId;
    expect(turns).toEqual([
      ["chat:turn:start", { requestId: first, trigger: "submit-message", admission: "latest", continuation: false, generation: 0 }],
      ["chat:turn:finish", { requestId: first, trigger: "submit-message", admission: "latest", continuation: false, generation: 0, status: "completed", durationMs: expect.any(Number) }],
      ["chat:turn:start", { requestId: second, trigger: "submit-message", admission: "latest", continuation: false, generation: 0 }],
      ["chat:turn:finish", expect.objectContaining({ requestId: second, status: "completed" })],
      ["chat:turn:start", { requestId: continuation, trigger: "auto-continuation", admission: "queue", continuation: true, generation: 0 }],
      ["chat:turn:finish", expect.objectContaining({ requestId: continuation, trigger: "auto-continuation", status: "completed" })],
      ["chat:turn:start", { requestId: saved.requestId, trigger: "programmatic", admission: "queue", continuation: false, generation: 0 }],
      ["chat:turn:finish", expect.objectContaining({ requestId: saved.requestId, trigger: "programmatic", status: "completed" })],
    ]);
    // A regeneration is not subject to messageConcurrency: it queues.
    const regenerated = client.send(await t.get<Chat>("LatestChat", "e3").history(), { trigger: "regenerate-message" });
    await client.done(regenerated);
    await until(() => seen!.of("e3").filter(([type]) => type === "chat:turn:finish").length === 5, "the regeneration's end");
    expect(seen.of("e3").filter(([type]) => type === "chat:turn:start").at(-1)).toEqual([
      "chat:turn:start",
      { requestId: regenerated, trigger: "regenerate-message", admission: "queue", continuation: false, generation: 0 },
    ]);
    client.close();
  });

  it("chat:stream:stalled when a reply produces nothing for maxTurnIdleMs; the turn finishes as an error", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream));
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e4", "", "bounded-chat");
    const id = client.send([userMessage("u1", "hi")]);
    gate.text("stalled");
    await client.done(id);
    await until(() => seen!.of("e4").some(([type]) => type === "chat:turn:finish"), "the turn's end");
    const events = seen.of("e4").filter(([type]) => type.startsWith("chat:"));
    expect(events).toEqual([
      ["chat:turn:start", { requestId: id, trigger: "submit-message", admission: "queue", continuation: false, generation: 0 }],
      ["chat:stream:stalled", { requestId: id, timeoutMs: 300 }],
      ["chat:request:failed", { requestId: id, stage: "stream", messagesPersisted: true, error: expect.stringMatching(/maxTurnIdleMs/) }],
      ["chat:turn:finish", expect.objectContaining({ requestId: id, status: "error", error: expect.stringMatching(/maxTurnIdleMs/) })],
    ]);
    client.close();
  });

  it("chat:recovery:detected, attempt, scheduled and completed for a turn a restart cut short, around the recovery turn's own events", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream(" was the word.")));
    t = await createTestEnv({ agents: { RecoveringChat }, time: "system" });
    const ws = (await t.url()).replace(/^http/, "ws");
    seen = collect();
    const client = await ChatClient.open(ws, "e5", "", "recovering-chat");
    const id = client.send([userMessage("u1", "tell me a story")]);
    gate.text("In the beginning");
    await until(() => textOf(client.responses(id)) === "In the beginning", "the words streamed");
    await t.restart();
    await until(() => seen!.of("e5").some(([type]) => type === "chat:recovery:completed"), "the recovery's end");
    const stored = await t.get<RecoveringChat>("RecoveringChat", "e5").history();
    expect(messageText(stored[1])).toBe("In the beginning was the word.");
    const incident = { incidentId: id, requestId: id, attempt: 1, maxAttempts: 10, recoveryKind: "continue" };
    // The interrupted turn's own finish (if the process got to send it) is left out: a crash sends none.
    const events = seen.of("e5").filter(([type, payload]) => type.startsWith("chat:recovery:") || (type.startsWith("chat:turn:") && (payload as { requestId: string }).requestId !== id));
    const recoveryTurn = (events[3]![1] as { requestId: string }).requestId;
    expect(events).toEqual([
      ["chat:recovery:detected", incident],
      ["chat:recovery:attempt", incident],
      ["chat:recovery:scheduled", incident],
      ["chat:turn:start", { requestId: recoveryTurn, trigger: "recovery-continue", admission: "queue", continuation: true, generation: 0 }],
      ["chat:turn:finish", expect.objectContaining({ requestId: recoveryTurn, trigger: "recovery-continue", status: "completed" })],
      ["chat:recovery:completed", incident],
    ]);
    expect(recoveryTurn).not.toBe(id);
    client.close();
  });

  it("chat:transcript:repaired when a cancel cuts a running server tool call short and it is stored as an error", async () => {
    let started = false;
    resetWorld(scriptedModel(toolCallStream("w1", "slow", {})), {
      slow: tool({
        inputSchema: jsonSchema({ type: "object" }),
        execute: async (_input, { abortSignal }) => {
          started = true;
          await new Promise((resolve) => abortSignal?.addEventListener("abort", resolve));
          return "x";
        },
      }),
    });
    let ws: string;
    ({ t, ws } = await chatEnv());
    seen = collect();
    const client = await ChatClient.open(ws, "e6");
    const id = client.send([userMessage("u1", "go")]);
    await until(() => started, "the tool started");
    client.socket.send({ type: "cf_agent_chat_request_cancel", id });
    await client.done(id);
    await until(() => seen!.of("e6").some(([type]) => type === "chat:turn:finish"), "the turn's end");
    expect(seen.of("e6").filter(([type]) => type.startsWith("chat:"))).toEqual([
      ["chat:turn:start", expect.objectContaining({ requestId: id })],
      ["chat:transcript:repaired", { requestId: id, removedToolCalls: 1, normalizedInputs: 0, toolCallIds: ["w1"] }],
      ["chat:turn:finish", expect.objectContaining({ requestId: id, status: "aborted" })],
    ]);
    // A turn that ends well repairs nothing.
    resetWorld(scriptedModel(textStream("fine")));
    const next = client.send([...((await t.get<Chat>("Chat", "e6").history()) as UIMessage[]), userMessage("u2", "again")]);
    await client.done(next);
    await until(() => seen!.of("e6").filter(([type]) => type === "chat:turn:finish").length === 2, "the next turn's end");
    expect(seen.of("e6").filter(([type]) => type === "chat:transcript:repaired")).toHaveLength(1);
    client.close();
  });

  it("chat:recovery:exhausted when a recovery turn is cut short again without progress, with the budget's reason", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("never")));
    t = await createTestEnv({ agents: { StuckChat }, time: "system" });
    const ws = (await t.url()).replace(/^http/, "ws");
    seen = collect();
    const client = await ChatClient.open(ws, "e7", "", "stuck-chat");
    const id = client.send([userMessage("u1", "tell me a story")]);
    gate.text("Some words");
    await until(() => textOf(client.responses(id)) === "Some words", "the words streamed");
    client.close();
    // The recovery turn waits in onChatMessage and is cut short by the next restart.
    world.hold = new Promise(() => {});
    await t.restart();
    await until(() => world.options.length === 2, "the recovery turn started");
    await t.restart();
    await until(() => seen!.of("e7").some(([type]) => type === "chat:recovery:exhausted"), "the give-up");
    const recoveryTurn = (seen.of("e7").find(([type, payload]) => type === "chat:turn:start" && (payload as { requestId: string }).requestId !== id)![1] as { requestId: string }).requestId;
    const first = { incidentId: id, requestId: id, attempt: 1, maxAttempts: 10, recoveryKind: "continue" };
    const second = { incidentId: id, requestId: recoveryTurn, attempt: 2, maxAttempts: 10, recoveryKind: "continue" };
    expect(seen.of("e7").filter(([type]) => type.startsWith("chat:recovery:"))).toEqual([
      ["chat:recovery:detected", first],
      ["chat:recovery:attempt", first],
      ["chat:recovery:scheduled", first],
      ["chat:recovery:attempt", second],
      ["chat:recovery:exhausted", { ...second, reason: "no_progress_timeout" }],
    ]);
  });
});
