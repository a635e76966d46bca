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
  /**
   * A turn whose reply produces no chunk for this long is aborted (a reply stream that never
   * closes). 0, the default as in the Agents SDK (`chatStreamStallTimeoutMs`), is off: a server
   * tool may run as long as it needs; a turn is ended by a cancel, a clear or `cancelChatTurn`.
   */
  maxTurnIdleMs: 0,
  /** Per-turn usage rows kept per agent; older rows are dropped, the totals keep counting. */
  maxUsageRows: 10_000,
} as const;

/** The chat limits, each a positive number (or 0, for those {@link OFF_WHEN_ZERO} lists). */
export type ChatLimits = { -readonly [K in keyof typeof CHAT_LIMITS]: number };

/** Limits that 0 turns off rather than making everything fail. */
const OFF_WHEN_ZERO: ReadonlySet<string> = new Set<keyof ChatLimits>(["maxTurnIdleMs"]);

/** The defaults with a class's overrides applied; a bad override fails loudly, naming the field. */
export function resolveChatLimits(overrides: Partial<ChatLimits> | undefined): ChatLimits {
  const limits: ChatLimits = { ...CHAT_LIMITS };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!(key in CHAT_LIMITS)) throw new TypeError(`Unknown chat limit "${key}"; known: ${Object.keys(CHAT_LIMITS).join(", ")}`);
    const least = OFF_WHEN_ZERO.has(key) ? "0 (off) or a positive number" : "a positive number";
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (value === 0 && !OFF_WHEN_ZERO.has(key))) {
      throw new RangeError(`chatLimits.${key} must be ${least}, got ${String(value)}`);
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
