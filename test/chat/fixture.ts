/**
 * The chat agent the tests drive: `streamText` over the stored conversation with the model and
 * tools a test puts in `world`, exactly as an application would write it.
 */
import { convertToModelMessages, stepCountIs, streamText, type LanguageModel, type ToolSet, type UIMessage } from "ai";
import { AIChatAgent, createToolsFromClientSchemas, type ChatFinishCallback, type ChatResponseResult, type ChatUsageRecord, type OnChatMessageOptions } from "../../src/chat/index.ts";
import type { Connection, ConnectionContext } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { scriptedModel, textStream } from "./helpers.ts";

export const world: {
  model: LanguageModel;
  tools: ToolSet;
  responses: ChatResponseResult[];
  usage: ChatUsageRecord[];
  options: OnChatMessageOptions[];
  messages: string[];
  errors: unknown[];
  /** While set, onChatMessage waits for it before answering (a turn that has not started streaming). */
  hold: Promise<void> | undefined;
  /** While true, onChatMessage answers nothing (a turn that only takes its place in the queue). */
  quiet: boolean;
} = { model: scriptedModel(textStream("hello")), tools: {}, responses: [], usage: [], options: [], messages: [], errors: [], hold: undefined, quiet: false };

export function resetWorld(model: LanguageModel, tools: ToolSet = {}): void {
  world.model = model;
  world.tools = tools;
  world.responses = [];
  world.usage = [];
  world.options = [];
  world.messages = [];
  world.errors = [];
  world.hold = undefined;
  world.quiet = false;
}

/** Makes the next turns wait in onChatMessage until the returned function is called. */
export function holdTurns(): () => void {
  let release!: () => void;
  world.hold = new Promise((resolve) => (release = resolve));
  return () => {
    world.hold = undefined;
    release();
  };
}

export class Chat extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    world.options.push(options);
    await world.hold;
    if (world.quiet) return undefined;
    if (options.body?.explode) throw new Error("no model configured for this tenant");
    const result = streamText({
      model: world.model,
      messages: await convertToModelMessages(this.messages),
      tools: { ...world.tools, ...createToolsFromClientSchemas(options.clientTools) },
      stopWhen: stepCountIs(5),
      abortSignal: options.abortSignal,
      onFinish,
      onError: () => {}, // the error reaches the client as a chunk; no console output in tests
    });
    return result.toUIMessageStreamResponse();
  }

  onChatResponse(result: ChatResponseResult) {
    world.responses.push(result);
  }

  onError(connectionOrError: unknown, error?: unknown) {
    world.errors.push(error ?? connectionOrError);
  }

  onUsage(usage: ChatUsageRecord) {
    world.usage.push(usage);
  }

  shouldConnectionBeReadonly(_connection: Connection, ctx: ConnectionContext) {
    return new URL(ctx.request.url).searchParams.has("readonly");
  }

  onMessage(connection: Connection, message: string | ArrayBuffer) {
    world.messages.push(typeof message === "string" ? message : "binary");
    connection.send(JSON.stringify({ type: "echo", message }));
  }

  history(): UIMessage[] {
    return this.messages;
  }

  storedRows(): number {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM hearth_chat_messages`[0]!.n;
  }

  streamRows(): number {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM hearth_chat_chunks`[0]!.n;
  }

  usageSummary() {
    return this.getUsage();
  }

  async save(messages: UIMessage[]) {
    return this.saveMessages(messages);
  }

  /** A server turn over the conversation as it is. */
  async idle(): Promise<string> {
    return (await this.saveMessages((messages) => messages)).status;
  }

  async store(messages: UIMessage[]) {
    await this.persistMessages(messages);
  }
}

/** The policy tests' agents. */
export class LatestChat extends Chat {
  messageConcurrency = "latest" as const;
}

export class DropChat extends Chat {
  messageConcurrency = "drop" as const;
}

/** Asks itself a follow-up question once, from onChatResponse. */
export class FollowUpChat extends Chat {
  onChatResponse(result: ChatResponseResult) {
    super.onChatResponse(result);
    if (result.status !== "completed" || this.messages.length > 2) return;
    void this.saveMessages((messages) => [...messages, { id: "follow-up", role: "user", parts: [{ type: "text", text: "and then?" }] }]);
  }
}

/** Small limits, so the tests can reach them. */
export class TinyChat extends Chat {
  chatLimits = { maxChatMessageBytes: 2_000, maxQueuedTurns: 1, maxChatRequestMessages: 5 };
}

/** A small conversation limit and a short idle limit, so the tests can reach them. */
export class BoundedChat extends Chat {
  chatLimits = { maxConversationBytes: 4_000, maxTurnIdleMs: 300 };
}

/** Keeps only the newest three messages in storage. */
export class KeepLastChat extends Chat {
  maxPersistedMessages = 3;
}

export async function chatEnv(options: { dataDir?: string; maxMessageBytes?: number } = {}): Promise<{ t: TestEnv; ws: string }> {
  const t = await createTestEnv({
    agents: { Chat, LatestChat, DropChat, TinyChat, FollowUpChat, BoundedChat, KeepLastChat },
    time: "system",
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    host: { ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}) },
  });
  return { t, ws: (await t.url()).replace(/^http/, "ws") };
}
