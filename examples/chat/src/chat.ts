/**
 * The `Chat` agent: one conversation per instance name, answered by the model `chatModelFromEnv`
 * picks (the offline demo model when no API key is set). Tools: `get_time` runs on the server
 * right away; `send_email` needs a person's approval first (`needsApproval`), given in the page;
 * and the tools the page declares itself (`clientTools`, run in the browser).
 */
import { convertToModelMessages, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import {
  AIChatAgent,
  chatModelFromEnv,
  createToolsFromClientSchemas,
  type ChatFinishCallback,
  type ChatModelChoice,
  type OnChatMessageOptions,
} from "hearth/chat";
import { modelErrorMessage } from "./model-error.ts";

/** Variables the agent reads: model keys (see `chatModelFromEnv`) and the demo model's pace. */
export type Env = Record<string, string | undefined>;

/** The agent's state, synced to the page: which model answers. */
export interface ChatState {
  model: string;
  offline: boolean;
}

/** What `send_email` returns. Nothing leaves the machine: the demo only notes what would be sent. */
export interface SentEmail {
  sent: true;
  to: string;
  subject: string;
  at: string;
}

export const tools = {
  get_time: tool({
    description: "The current date and time on the server",
    inputSchema: z.object({}),
    execute: async () => ({ now: new Date().toISOString(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
  }),
  send_email: tool({
    description: "Send an email; a person approves it before it goes out",
    inputSchema: z.object({ to: z.email(), subject: z.string(), body: z.string() }),
    needsApproval: true,
    execute: async ({ to, subject }): Promise<SentEmail> => ({ sent: true, to, subject, at: new Date().toISOString() }),
  }),
};

export class Chat extends AIChatAgent<Env, ChatState> {
  /** An answer a restart cuts short (`hearth dev` reloading on save, a crash) is continued when the agent is back. */
  override chatRecovery = true;
  #choice: Promise<ChatModelChoice> | undefined;

  /** The model, chosen once per start from the agent's variables; the page learns its label from the state. */
  override async onStart(): Promise<void> {
    const { label, offline } = await this.#model();
    this.setState({ model: label, offline });
  }

  override async onChatMessage(onFinish: ChatFinishCallback, { abortSignal, clientTools }: OnChatMessageOptions): Promise<Response> {
    const { model } = await this.#model();
    const result = streamText({
      model,
      system: "You are a helpful assistant. Use the tools when they help.",
      messages: await convertToModelMessages(this.messages),
      tools: { ...tools, ...createToolsFromClientSchemas(clientTools) },
      stopWhen: stepCountIs(5),
      abortSignal,
      onFinish,
    });
    // The page shows why a reply failed (a refused key, an unknown model), never the key itself.
    return result.toUIMessageStreamResponse({ onError: (error) => modelErrorMessage(error, this.env), redactToolErrors: false });
  }

  #model(): Promise<ChatModelChoice> {
    const delay = Number(this.env.DEMO_WORD_DELAY_MS);
    this.#choice ??= chatModelFromEnv(this.env, { demo: { wordDelayMs: Number.isFinite(delay) ? delay : 40 } });
    return this.#choice;
  }
}
