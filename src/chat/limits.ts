/**
 * The limits of chat agents, with their defaults. Each is documented in docs/limits.md ("Chat") and
 * each error names the limit. A class overrides any of them with its `chatLimits` field.
 */
export const CHAT_LIMITS = {
  /** Largest single message (a UIMessage as JSON), received from a client or assembled from a stream. */
  maxChatMessageBytes: 16 * 1024 * 1024,
  /** The whole stored conversation (every message as JSON), on every path that stores messages. */
  maxConversationBytes: 64 * 1024 * 1024,
  /** Messages one chat request (or one `cf_agent_chat_messages` frame) may carry. */
  maxChatRequestMessages: 10_000,
  /** Turns waiting behind the running one; a request beyond it is refused. */
  maxQueuedTurns: 64,
  /** Client tool schemas one request may declare. */
  maxClientTools: 128,
  /** Longest request id, message id or tool call id, in characters. */
  maxChatIdLength: 256,
  /** A turn whose reply produces no chunk for this long is aborted (a reply stream that never closes). */
  maxTurnIdleMs: 5 * 60 * 1000,
  /** Per-turn usage rows kept per agent; older rows are dropped, the totals keep counting. */
  maxUsageRows: 10_000,
} as const;

/** The chat limits, each a positive number. */
export type ChatLimits = { -readonly [K in keyof typeof CHAT_LIMITS]: number };

/** The defaults with a class's overrides applied; a bad override fails loudly, naming the field. */
export function resolveChatLimits(overrides: Partial<ChatLimits> | undefined): ChatLimits {
  const limits: ChatLimits = { ...CHAT_LIMITS };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!(key in CHAT_LIMITS)) throw new TypeError(`Unknown chat limit "${key}"; known: ${Object.keys(CHAT_LIMITS).join(", ")}`);
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`chatLimits.${key} must be a positive number, got ${String(value)}`);
    }
    limits[key as keyof ChatLimits] = value;
  }
  return limits;
}

/**
 * The error of a write that would take the stored conversation past `maxConversationBytes`, on
 * every path (requests, edits, replies, recoveries): one wording, so clients and logs can match it.
 * `cause` names what would do it ("The reply"); without it the conversation itself is the subject.
 */
export function conversationTooLarge(bytes: number, limit: number, cause?: string): string {
  const subject = cause === undefined ? "the conversation would be" : `${cause} would make the conversation`;
  return `${subject} ${bytes} bytes of JSON; the limit is ${limit} (maxConversationBytes)`;
}
