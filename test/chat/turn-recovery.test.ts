/**
 * Recovery of a turn a restart cut short (`chatRecovery`): the host wakes the agent by itself, the
 * partial answer reaches onChatRecovery with the turn's last stash, and by default it is stored and
 * continued in the same assistant message; a turn cut short before it streamed is retried; the
 * hook's options, the budgets and the recovering status frame do what they say.
 */
import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import type { UIMessage } from "ai";
import { afterEach, describe, expect, test } from "vitest";
import type {
  ChatFinishCallback,
  ChatRecoveryConfig,
  ChatRecoveryContext,
  ChatRecoveryExhaustedContext,
  ChatRecoveryOptions,
  ChatRecoveryProgressContext,
  OnChatMessageOptions,
} from "../../src/chat/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Chat, resetWorld, world } from "./fixture.ts";
import { ChatClient, Gate, messageText, scriptedModel, textOf, textStream, until, userMessage, type Frame } from "./helpers.ts";

/** What the recovering agents saw, across restarts (this module outlives every host). */
const seen: {
  recoveries: ChatRecoveryContext[];
  exhausted: ChatRecoveryExhaustedContext[];
  options: ChatRecoveryOptions;
  stash: unknown;
  /** Per turn: whether onStart had run when onChatMessage was called. */
  afterStart: boolean[];
  policy: ChatRecoveryProgressContext[];
} = { recoveries: [], exhausted: [], options: {}, stash: undefined, afterStart: [], policy: [] };

class RecoveringChat extends Chat {
  chatRecovery: ChatRecoveryConfig = true;
  #started = false;

  onStart() {
    this.#started = true;
  }

  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    seen.afterStart.push(this.#started);
    if (seen.stash !== undefined) this.stash(seen.stash);
    return super.onChatMessage(onFinish, options);
  }

  protected onChatRecovery(ctx: ChatRecoveryContext): ChatRecoveryOptions {
    seen.recoveries.push(ctx);
    return seen.options;
  }

  async continueLast(body?: Record<string, unknown>) {
    return this.continueLastTurn(body);
  }

  /** The types of the stored chunks of the running turn. */
  chunkTypes(): string[] {
    return this.sql<{ body: string }>`SELECT body FROM hearth_chat_chunks ORDER BY seq`.map((row) => (JSON.parse(row.body) as { type: string }).type);
  }
}

/** Gives up after one attempt without progress. */
class BudgetChat extends RecoveringChat {
  chatRecovery: ChatRecoveryConfig = {
    maxAttempts: 1,
    terminalMessage: "Sorry, that answer was lost.",
    onExhausted: (ctx) => void seen.exhausted.push(ctx),
  };
}

/** The other budgets, one class each: no progress allowed, no work allowed, a policy of its own. */
class StuckChat extends RecoveringChat {
  chatRecovery: ChatRecoveryConfig = { noProgressTimeoutMs: 0, onExhausted: (ctx) => void seen.exhausted.push(ctx) };
}
class WorkChat extends RecoveringChat {
  chatRecovery: ChatRecoveryConfig = { maxRecoveryWork: 0, onExhausted: (ctx) => void seen.exhausted.push(ctx) };
}
class PolicyChat extends RecoveringChat {
  chatRecovery: ChatRecoveryConfig = {
    shouldKeepRecovering: (ctx) => {
      seen.policy.push(ctx);
      return false;
    },
    onExhausted: (ctx) => void seen.exhausted.push(ctx),
  };
}

let t: TestEnv;
afterEach(async () => {
  world.hold = undefined;
  seen.recoveries = [];
  seen.exhausted = [];
  seen.options = {};
  seen.stash = undefined;
  seen.afterStart = [];
  seen.policy = [];
  await t?.close();
});

async function env(): Promise<string> {
  t = await createTestEnv({ agents: { RecoveringChat, BudgetChat, StuckChat, WorkChat, PolicyChat }, time: "system" });
  return wsBase();
}

async function wsBase(): Promise<string> {
  return (await t.url()).replace(/^http/, "ws");
}

async function history(binding: string, name: string): Promise<UIMessage[]> {
  return (await t.get<RecoveringChat>(binding, name).history()) as UIMessage[];
}

/** Starts a turn whose model (`gate`) streams `words` and then never ends; resolves once the client has them. */
async function interruptedTurn(ws: string, name: string, gate: Gate, words: string[], agent = "recovering-chat", body: Record<string, unknown> = {}) {
  const client = await ChatClient.open(ws, name, "", agent);
  const id = client.send([userMessage("u1", "tell me a story")], body);
  for (const word of words) gate.text(word);
  await until(() => textOf(client.responses(id)) === words.join(""), "the words streamed");
  return { client, id };
}

describe("a turn cut short by a restart, with chatRecovery on", () => {
  test("the host wakes the agent by itself; the partial answer is kept and continued in the same message", async () => {
    const gate = new Gate();
    const model = scriptedModel(gate.stream, textStream(" was the word."));
    resetWorld(model);
    seen.stash = { responseId: "resp_1" };
    const ws = await env();
    const { id } = await interruptedTurn(ws, "a1", gate, ["In the ", "beginning"], "recovering-chat", { tone: "solemn" });
    const started = Date.now();

    await t.restart();
    // No request, no socket: the fiber's wake-up brings the agent back and recovery runs.
    await until(() => seen.recoveries.length === 1, "onChatRecovery");
    const [ctx] = seen.recoveries;
    expect(ctx).toMatchObject({
      requestId: id,
      streamId: id,
      recoveryRootRequestId: id,
      incidentId: id,
      attempt: 1,
      maxAttempts: 10,
      recoveryKind: "continue",
      partialText: "In the beginning",
      recoveryData: { responseId: "resp_1" },
      lastBody: { tone: "solemn" },
    });
    expect(ctx!.partialParts.filter((part) => part.type === "text")).toMatchObject([{ type: "text", text: "In the beginning" }]);
    expect(ctx!.messages.map((m) => m.id)).toEqual(["u1"]);
    expect(ctx!.createdAt).toBeLessThanOrEqual(started);

    await until(async () => messageText((await history("RecoveringChat", "a1"))[1]) === "In the beginning was the word.", "the continuation");
    const stored = await history("RecoveringChat", "a1");
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant"]);
    // The continuation saw the partial answer and ran as a continuation, with the request's body,
    // after onStart (recovery itself runs before it).
    expect(world.options.at(-1)).toMatchObject({ continuation: true, body: { tone: "solemn" } });
    expect(seen.afterStart).toEqual([true, true]);
    const prompt = model.prompts.at(-1)!;
    expect(prompt.at(-1)).toMatchObject({ role: "assistant", content: [{ type: "text", text: "In the beginning" }] });
    // Recovered once is recovered for good: nothing is left to recover at the next start.
    await t.restart();
    expect((await history("RecoveringChat", "a1")).length).toBe(2);
    expect(seen.recoveries).toHaveLength(1);
    expect(model.prompts).toHaveLength(2);
  });

  test("a client that connects during recovery is told; the interrupted request ends as recovering and the continuation streams to it", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream(" and the rest.")));
    const ws = await env();
    const first = await interruptedTurn(ws, "a2", gate, ["The start"]);
    first.client.close();
    // The continuation waits in onChatMessage until released.
    let release!: () => void;
    world.hold = new Promise((resolve) => (release = resolve));
    await t.restart();
    await until(() => seen.recoveries.length === 1 && world.options.length === 2, "the continuation started");
    const client = await ChatClient.open(await wsBase(), "a2", "", "recovering-chat");
    expect(client.frames.find((f) => typeof f === "object" && f.type === "cf_agent_chat_recovering")).toEqual({
      type: "cf_agent_chat_recovering",
      recovering: true,
      id: first.id,
    });
    // The interrupted request's end says a recovery continues it (clients keep waiting for that).
    client.socket.send({ type: "cf_agent_stream_resume_request", probeId: "p" });
    await client.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_stream_pending" && f.probeId === "p");
    const mark = client.frames.length;
    release();
    world.hold = undefined;
    const resuming = (await client.waitForType("cf_agent_stream_resuming", mark)) as Frame;
    const continuationId = resuming.id as string;
    client.socket.send({ type: "cf_agent_stream_resume_ack", id: continuationId });
    const done = await client.done(continuationId);
    expect(done).toMatchObject({ outcome: "completed", continuation: true, messageIds: ["u1"] });
    expect(textOf(client.responses(continuationId))).toBe(" and the rest.");
    await client.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_chat_recovering" && f.recovering === false);
    expect(messageText((await history("RecoveringChat", "a2"))[1])).toBe("The start and the rest.");
    expect(world.responses.at(-1)).toMatchObject({ status: "completed", continuation: true, requestId: continuationId });
  });

  test("{ continue: false } keeps the partial answer and runs nothing; { persist: false, continue: false } keeps nothing", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, textStream("never")));
    const ws = await env();
    seen.options = { continue: false };
    await interruptedTurn(ws, "a3", gate, ["Half ", "an answer"]);
    await t.restart();
    await until(() => seen.recoveries.length === 1, "onChatRecovery");
    const kept = await history("RecoveringChat", "a3");
    expect(kept.map(messageText)).toEqual(["tell me a story", "Half an answer"]);
    expect(world.responses.at(-1)).toMatchObject({ status: "aborted", requestId: seen.recoveries[0]!.requestId });

    seen.options = { persist: false, continue: false };
    const second = new Gate();
    resetWorld(scriptedModel(second.stream, textStream("never")));
    await interruptedTurn(await wsBase(), "a4", second, ["Lost ", "words"]);
    await t.restart();
    await until(() => seen.recoveries.length === 2, "onChatRecovery");
    expect((await history("RecoveringChat", "a4")).map(messageText)).toEqual(["tell me a story"]);
    // Nothing runs after the hook: one model call per conversation.
    expect(world.options).toHaveLength(1);
  });

  test("a turn cut short before it streamed is retried: the user's message gets its answer", async () => {
    const model = scriptedModel(textStream("Once upon a time."));
    resetWorld(model);
    const ws = await env();
    world.hold = new Promise(() => {});
    const client = await ChatClient.open(ws, "a5", "", "recovering-chat");
    client.send([userMessage("u1", "tell me a story")]);
    await until(() => world.options.length === 1, "onChatMessage called");
    world.hold = undefined;
    await t.restart();
    await until(() => seen.recoveries.length === 1, "onChatRecovery");
    expect(seen.recoveries[0]).toMatchObject({ recoveryKind: "retry", partialText: "", streamId: "", partialParts: [] });
    await until(async () => messageText((await history("RecoveringChat", "a5"))[1]) === "Once upon a time.", "the retried answer");
    expect(world.options.at(-1)).toMatchObject({ continuation: false });
    expect(model.prompts).toHaveLength(1); // the first call never reached the model
  });

  test("past its budget, recovery is given up: onExhausted, an error with terminalMessage, the partial kept", async () => {
    const gate = new Gate();
    resetWorld(scriptedModel(gate.stream, new Gate().stream));
    const ws = await env();
    const { id } = await interruptedTurn(ws, "b1", gate, ["Some ", "words"], "budget-chat");
    // The continuation is cut short too, before it produced anything: an attempt without progress.
    world.hold = new Promise(() => {});
    await t.restart();
    await until(() => seen.recoveries.length === 1 && world.options.length === 2, "the continuation started");
    world.hold = undefined;
    await t.restart();
    await until(() => seen.exhausted.length === 1, "onExhausted");
    expect(seen.exhausted[0]).toMatchObject({
      reason: "max_attempts_exceeded",
      attempt: 2,
      maxAttempts: 1,
      recoveryRootRequestId: id,
      terminalMessage: "Sorry, that answer was lost.",
    });
    expect(seen.recoveries).toHaveLength(1); // onChatRecovery is not asked again once the budget is spent
    expect(world.responses.at(-1)).toMatchObject({ status: "error", error: "Sorry, that answer was lost." });
    expect((await history("BudgetChat", "b1")).map(messageText)).toEqual(["tell me a story", "Some words"]);
  });

  test("the other budgets: time without progress, work since the first interruption, shouldKeepRecovering", async () => {
    await env();
    // Each conversation: a first interruption (recovered), then its continuation is cut short too.
    const twice = async (name: string, agent: string, binding: string, continuation: Gate | "held") => {
      const gate = new Gate();
      resetWorld(scriptedModel(gate.stream, continuation === "held" ? textStream("never") : continuation.stream));
      await interruptedTurn(await wsBase(), name, gate, ["Some ", "words"], agent);
      if (continuation === "held") world.hold = new Promise(() => {});
      await t.restart();
      await until(() => world.options.length === 2, "the continuation started");
      if (continuation !== "held") {
        // The continuation produces a new segment (progress, and work) before it is cut short.
        continuation.text("more");
        await until(async () => (await t.get<RecoveringChat>(binding, name).chunkTypes()).includes("text-delta"), "the continuation's words stored");
      }
      world.hold = undefined;
      await t.restart();
      await until(() => seen.exhausted.length === 1, "onExhausted");
      const [ctx] = seen.exhausted;
      seen.exhausted = [];
      return ctx!;
    };
    expect(await twice("n1", "stuck-chat", "StuckChat", "held")).toMatchObject({ reason: "no_progress_timeout" });
    expect(await twice("n2", "work-chat", "WorkChat", new Gate())).toMatchObject({ reason: "work_budget_exceeded", attempt: 1 });
    expect(await twice("n3", "policy-chat", "PolicyChat", "held")).toMatchObject({ reason: "recovery_aborted" });
    expect(seen.policy).toHaveLength(1);
    expect(seen.policy[0]).toMatchObject({ attempt: 2, maxAttempts: 10, recoveryKind: "continue", work: 0 });
    expect(seen.policy[0]!.recoveryRootRequestId).toBe(seen.policy[0]!.incidentId);
  });

  test("a turn cut short while a client tool waits is parked: no budget, no continuation; the client's result continues it", async () => {
    // The model calls the page's tool and its step has not finished when the process stops.
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start(controller) {
        controller.enqueue({ type: "stream-start", warnings: [] });
        controller.enqueue({ type: "tool-call", toolCallId: "c1", toolName: "getLocation", input: "{}" });
      },
    });
    resetWorld(scriptedModel(stream, textStream("You are in Paris.")));
    const ws = await env();
    const client = await ChatClient.open(ws, "h1", "", "recovering-chat");
    const clientTools = [{ name: "getLocation", parameters: { type: "object", properties: {} } }];
    const id = client.send([userMessage("u1", "where am I?")], { clientTools });
    await until(() => client.responses(id).some((f) => typeof f.body === "string" && f.body.includes("tool-input-available")), "the tool call streamed");
    await t.restart();
    await until(async () => (await history("RecoveringChat", "h1")).length === 2, "the partial answer stored");
    expect(seen.recoveries).toEqual([]);
    const [, asked] = await history("RecoveringChat", "h1");
    expect(asked!.parts.filter((part) => part.type === "tool-getLocation")).toMatchObject([{ toolCallId: "c1", state: "input-available" }]);
    expect(world.options).toHaveLength(1);

    const again = await ChatClient.open(await wsBase(), "h1", "", "recovering-chat");
    expect(again.frames.some((f) => typeof f === "object" && f.type === "cf_agent_chat_recovering")).toBe(false);
    again.socket.send({ type: "cf_agent_tool_result", toolCallId: "c1", toolName: "getLocation", output: { city: "Paris" }, autoContinue: true });
    await until(async () => messageText((await history("RecoveringChat", "h1"))[1]) === "You are in Paris.", "the continuation");
    expect(world.options.at(-1)).toMatchObject({ continuation: true });
  });

  test("continueLastTurn() appends to the last answer; it is skipped when the conversation ends with the user", async () => {
    resetWorld(scriptedModel(textStream("First part."), textStream(" Second part.")));
    const ws = await env();
    const client = await ChatClient.open(ws, "c1", "", "recovering-chat");
    await client.done(client.send([userMessage("u1", "go")], { lang: "en" }));
    const stub = t.get<RecoveringChat>("RecoveringChat", "c1");
    const result = await stub.continueLast({ more: true });
    expect(result).toMatchObject({ status: "completed" });
    expect(result.requestId).not.toBe("");
    const stored = await history("RecoveringChat", "c1");
    expect(stored.map(messageText)).toEqual(["go", "First part. Second part."]);
    expect(world.options.at(-1)).toMatchObject({ continuation: true, requestId: result.requestId, body: { lang: "en", more: true } });
    await stub.store([...stored, userMessage("u2", "and?")]);
    expect(await stub.continueLast()).toEqual({ requestId: "", status: "skipped" });
  });
});
