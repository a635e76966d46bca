/**
 * The public shapes of chat recovery: the Agents SDK's names and fields (`chatRecovery`,
 * `onChatRecovery`, their contexts), so code written for Cloudflare's `AIChatAgent` compiles unchanged.
 */
import type { UIMessage } from "ai";
import type { ClientToolSchema } from "./frames.ts";

/** One part of a UI message (text, reasoning, a tool call, a data part…). */
export type MessagePart = UIMessage["parts"][number];

/** Whether recovery retries an unanswered user turn or continues a partial assistant answer. */
export type ChatRecoveryKind = "retry" | "continue";

/**
 * What `onChatRecovery` receives for a turn a restart or a crash cut short.
 * @example
 * async onChatRecovery(ctx: ChatRecoveryContext) {
 *   if (Date.now() - ctx.createdAt > 2 * 60_000) return { continue: false };
 *   return {};
 * }
 */
export interface ChatRecoveryContext {
  /** Stable id of this recovery incident (the same across its attempts). */
  incidentId: string;
  /** The request the incident began with: constant across the chain of continuations. */
  recoveryRootRequestId: string;
  /** Attempt number for this incident, from 1 (back to 1 after an attempt that made progress). */
  attempt: number;
  /** `chatRecovery.maxAttempts`. */
  maxAttempts: number;
  recoveryKind: ChatRecoveryKind;
  /** Id of the interrupted stream (its request id), or "" when it had not started streaming. */
  streamId: string;
  /** The interrupted request. */
  requestId: string;
  /** The text streamed before the interruption. */
  partialText: string;
  /** The parts streamed before the interruption (text, reasoning, tool calls). */
  partialParts: MessagePart[];
  /** The last `this.stash()` of the interrupted turn, or null. */
  recoveryData: unknown | null;
  /** The stored conversation. */
  messages: UIMessage[];
  /** The body of the last chat request. */
  lastBody?: Record<string, unknown>;
  /** The client tools of the last chat request. */
  lastClientTools?: ClientToolSchema[];
  /** When the interrupted turn started, epoch milliseconds. */
  createdAt: number;
}

/**
 * What `onChatRecovery` returns; `{}` keeps both defaults.
 * @example
 * return { continue: false }; // keep the partial answer, continue it yourself
 */
export interface ChatRecoveryOptions {
  /** Store the partial answer as an assistant message (default true; a partial with settled tool results is always stored). */
  persist?: boolean;
  /** Continue the turn: `continueLastTurn()`, or a retry of an unanswered user message (default true). */
  continue?: boolean;
}

/** The incident and attempt that `shouldKeepRecovering` and `onExhausted` are told about. */
interface ChatRecoveryIncident {
  incidentId: string;
  /** The request of the attempt that was interrupted now. */
  requestId: string;
  /** Stable for the whole chain of continuations: the key for a budget of your own. */
  recoveryRootRequestId: string;
  attempt: number;
  maxAttempts: number;
  recoveryKind: ChatRecoveryKind;
}

/**
 * What `chatRecovery.shouldKeepRecovering` receives, from the second attempt of an incident on.
 * @example
 * shouldKeepRecovering: async (ctx) => ctx.ageMs < 10 * 60_000
 */
export interface ChatRecoveryProgressContext extends ChatRecoveryIncident {
  /** Content and tool segments produced since the incident began (coarse; not tokens). */
  work: number;
  /** Milliseconds since the incident's first interruption. */
  ageMs: number;
}

/**
 * What `chatRecovery.onExhausted` receives when recovery is given up.
 * @example
 * onExhausted: (ctx) => console.warn("chat recovery gave up", ctx.incidentId, ctx.reason)
 */
export interface ChatRecoveryExhaustedContext extends ChatRecoveryIncident {
  streamId: string;
  createdAt: number;
  partialText: string;
  partialParts: MessagePart[];
  /** `no_progress_timeout`, `max_attempts_exceeded`, `work_budget_exceeded` or `recovery_aborted`. */
  reason: string;
  /** The message the clients were shown. */
  terminalMessage: string;
}

/**
 * `chatRecovery`: `true` for the defaults, or budgets and a terminal message.
 * @example
 * chatRecovery = { maxAttempts: 5, noProgressTimeoutMs: 60_000, onExhausted: (ctx) => alert(ctx) };
 */
export type ChatRecoveryConfig =
  | boolean
  | {
      /** Attempts without progress before recovery is given up (default 10). */
      maxAttempts?: number;
      /** Accepted for compatibility: recovery continuations wait in the turn queue, never on an unstable state. */
      stableTimeoutMs?: number;
      /** What the clients are told when recovery is given up. */
      terminalMessage?: string;
      /** How long an incident may go without progress (default 5 min). */
      noProgressTimeoutMs?: number;
      /** Segments produced since the incident began before a still-progressing turn is given up (default 1000; `Infinity`: no cap). */
      maxRecoveryWork?: number;
      /** Accepted for compatibility: a Node process that runs out of memory dies like any crash. */
      maxOomRetries?: number;
      /** Consulted from the second attempt on; false gives recovery up (`recovery_aborted`). */
      shouldKeepRecovering?: (ctx: ChatRecoveryProgressContext) => boolean | Promise<boolean>;
      /** Called once when recovery is given up, before the clients are told. */
      onExhausted?: (ctx: ChatRecoveryExhaustedContext) => void | Promise<void>;
    };

/** `chatRecovery` with its defaults applied. */
export interface ResolvedChatRecoveryConfig {
  maxAttempts: number;
  stableTimeoutMs: number;
  terminalMessage: string;
  noProgressTimeoutMs: number;
  maxRecoveryWork: number;
  maxOomRetries: number;
  shouldKeepRecovering?: (ctx: ChatRecoveryProgressContext) => boolean | Promise<boolean>;
  onExhausted?: (ctx: ChatRecoveryExhaustedContext) => void | Promise<void>;
}
