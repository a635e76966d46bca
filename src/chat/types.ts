/**
 * Public types of `hearth/chat` shared by the agent class and the turn machinery.
 */
import type { UIMessage } from "ai";
import type { ChatOutcome, ClientToolSchema } from "./frames.ts";
import type { UsageEvent } from "./usage.ts";

/**
 * Hand this to `streamText({ onFinish })` in `onChatMessage`: it records the turn's token usage
 * (see `getUsage()` and `onUsage`). It accepts the AI SDK's finish event.
 */
export type ChatFinishCallback = (event: UsageEvent) => Promise<void>;

/** The second argument of `onChatMessage`. */
export interface OnChatMessageOptions {
  /** Aborted when a client cancels the request, the conversation is cleared, or the agent shuts down: pass it to `streamText`. */
  abortSignal: AbortSignal;
  /** Fields of the request body besides `messages`, `trigger` and `clientTools` (the client's `body`). */
  body: Record<string, unknown> | undefined;
  /** Tools the browser declared and runs itself (no `execute` here): see `createToolsFromClientSchemas`. */
  clientTools: ClientToolSchema[] | undefined;
  /** The chat request this turn answers (a fresh id for continuations and `saveMessages`). */
  requestId: string;
  /** True when the turn continues the last answer after a client's tool result or approval. */
  continuation: boolean;
}

/** How a turn ended, for `onChatResponse` and `saveMessages`. */
export interface ChatResponseResult<M extends UIMessage = UIMessage> {
  requestId: string;
  status: ChatOutcome;
  /** The assistant message as stored (undefined when nothing was produced). */
  message: M | undefined;
  continuation: boolean;
  /** Set when `status` is "error". */
  error?: string;
}

/**
 * Options of `saveMessages` and `continueLastTurn`.
 * @example
 * await this.saveMessages(next, { signal: AbortSignal.timeout(60_000) });
 */
export interface SaveMessagesOptions {
  /** Cancels the turn from outside: taken out of the queue, or aborted like a client's cancel. */
  signal?: AbortSignal;
}

/**
 * How a programmatic turn ended: `completed`, `error` (with `error`), `aborted` (cancelled; what
 * streamed is kept) or `skipped` (it never ran: the conversation was cleared, or nothing to continue).
 * @example
 * const { status, error } = await this.saveMessages(next);
 */
export interface SaveMessagesResult {
  requestId: string;
  status: "completed" | "error" | "skipped" | "aborted";
  error?: string;
}
