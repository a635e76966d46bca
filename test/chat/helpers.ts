/**
 * Chat test kit: scripted language models (AI SDK `MockLanguageModelV4`, real streaming, no
 * network), a model whose stream the test feeds by hand, and a WebSocket client that speaks the
 * chat frames and collects the responses of each request.
 */
import type { LanguageModelV4CallOptions, LanguageModelV4StreamPart, LanguageModelV4Usage } from "@ai-sdk/provider";
import type { UIMessage } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test";
import { TestSocket } from "../support/harness.ts";

export type Frame = Record<string, unknown>;

export function usage(input: number, output: number): LanguageModelV4Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  };
}

/** A text answer streamed word by word. */
export function textStream(text: string, tokens = usage(10, text.split(" ").length)): LanguageModelV4StreamPart[] {
  const words = text.split(/(?<= )/);
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t1" },
    ...words.map((delta): LanguageModelV4StreamPart => ({ type: "text-delta", id: "t1", delta })),
    { type: "text-end", id: "t1" },
    { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: tokens },
  ];
}

/** One tool call, then the step ends. */
export function toolCallStream(toolCallId: string, toolName: string, input: unknown): LanguageModelV4StreamPart[] {
  return [
    { type: "stream-start", warnings: [] },
    { type: "tool-call", toolCallId, toolName, input: JSON.stringify(input) },
    { type: "finish", finishReason: { unified: "tool-calls", raw: "tool-calls" }, usage: usage(5, 5) },
  ];
}

type Parts = LanguageModelV4StreamPart[] | ReadableStream<LanguageModelV4StreamPart>;
type Script = Parts | ((call: LanguageModelV4CallOptions) => Parts);

/** A model that answers its n-th call with the n-th script (the last one repeats); `prompts` records what it saw. */
export function scriptedModel(...scripts: Script[]): MockLanguageModelV4 & { prompts: LanguageModelV4CallOptions["prompt"][] } {
  const prompts: LanguageModelV4CallOptions["prompt"][] = [];
  const model = new MockLanguageModelV4({
    doStream: async (call) => {
      prompts.push(call.prompt);
      const script = scripts[Math.min(prompts.length - 1, scripts.length - 1)]!;
      const parts = typeof script === "function" ? script(call) : script;
      return { stream: parts instanceof ReadableStream ? parts : convertArrayToReadableStream(parts) };
    },
  });
  return Object.assign(model, { prompts });
}

/** A model stream the test feeds part by part; `aborted` resolves when the model call is aborted. */
export class Gate {
  readonly stream: ReadableStream<LanguageModelV4StreamPart>;
  #controller!: ReadableStreamDefaultController<LanguageModelV4StreamPart>;
  #pushedText = 0;

  constructor() {
    this.stream = new ReadableStream({ start: (controller) => void (this.#controller = controller) });
    this.#controller.enqueue({ type: "stream-start", warnings: [] });
    this.#controller.enqueue({ type: "text-start", id: "g1" });
  }

  /** Streams one more piece of text. */
  text(delta: string): void {
    this.#pushedText++;
    this.#controller.enqueue({ type: "text-delta", id: "g1", delta });
  }

  /** Ends the stream with a model error. */
  fail(message: string): void {
    this.#controller.enqueue({ type: "error", error: new Error(message) });
    this.#controller.close();
  }

  /** Ends the text and the step. */
  finish(): void {
    this.#controller.enqueue({ type: "text-end", id: "g1" });
    this.#controller.enqueue({ type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: usage(1, this.#pushedText) });
    this.#controller.close();
  }
}

export function userMessage(id: string, text: string): UIMessage {
  return { id, role: "user", parts: [{ type: "text", text }] };
}

let requests = 0;

/** A raw WebSocket client of a chat agent. */
export class ChatClient {
  readonly socket: TestSocket;

  private constructor(socket: TestSocket) {
    this.socket = socket;
  }

  /** Connects and waits for the conversation the agent sends on connect. */
  static async open(wsBase: string, name: string, query = "", agent = "chat"): Promise<ChatClient> {
    const socket = await TestSocket.open(`${wsBase}/agents/${agent}/${name}${query}`);
    await socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_chat_messages" && f.connect === true);
    return new ChatClient(socket);
  }

  get frames(): Array<Frame | string> {
    return this.socket.frames;
  }

  /** Sends a chat request with `messages`; returns its id. */
  send(messages: UIMessage[], extra: Record<string, unknown> = {}, id = `req-${++requests}`): string {
    const body = JSON.stringify({ messages, trigger: "submit-message", ...extra });
    this.socket.send({ type: "cf_agent_use_chat_request", id, init: { method: "POST", body } });
    return id;
  }

  /** Response frames of one request received so far. */
  responses(id: string, from = 0): Frame[] {
    return this.socket.frames.slice(from).filter((f): f is Frame => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.id === id);
  }

  /** Waits for the terminal frame of a request. */
  async done(id: string, from = 0): Promise<Frame> {
    return (await this.socket.waitFor((f) => typeof f === "object" && f.type === "cf_agent_use_chat_response" && f.id === id && f.done === true, from)) as Frame;
  }

  /** Waits until `count` chunks of a request have arrived. */
  async chunks(id: string, count: number): Promise<void> {
    const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
    while (this.responses(id).filter((f) => f.body !== "").length < count) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${count} chunks of ${id}; got ${JSON.stringify(this.responses(id))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async waitForType(type: string, from = 0): Promise<Frame> {
    return this.socket.waitForType(type, from);
  }

  close(): void {
    this.socket.close();
  }
}

/** The chunks (parsed bodies) of response frames. */
export function chunksOf(frames: Frame[]): Array<Record<string, unknown>> {
  return frames.filter((f) => typeof f.body === "string" && f.body !== "" && f.error !== true).map((f) => JSON.parse(f.body as string) as Record<string, unknown>);
}

/** The text the text deltas of response frames add up to. */
export function textOf(frames: Frame[]): string {
  return chunksOf(frames)
    .filter((c) => c.type === "text-delta")
    .map((c) => c.delta as string)
    .join("");
}

/** The text parts of a message, joined. */
export function messageText(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
}

/** Polls until `condition` holds (5 s at most). */
export async function until(condition: () => boolean | Promise<boolean>, what = "condition"): Promise<void> {
  const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
