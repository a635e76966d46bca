/**
 * What a team member is to the team engine: something that takes an input and returns an output
 * (plus what it spent), given a context with a cancellation signal and a key that makes a repeated
 * call (after a crash) return the first call's result instead of doing the work again. Sub-agents,
 * chat agents, code functions and remote (A2A) agents all implement this one interface.
 */
import { createHash } from "node:crypto";

/**
 * The id a member gives the work it starts for one call (a chat turn, a child team run): the same for
 * every call with this idempotency key, so a call repeated after a crash finds that work again.
 */
export function idForKey(prefix: string, idempotencyKey: string): string {
  return `${prefix}-${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 32)}`;
}

/** Tokens (and the model that used them) a call spent; summed into the run's budget. */
export interface MemberUsage {
  /** The model id, for the price table (e.g. "gpt-5-mini"). */
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  /** Tool calls the member made. */
  toolCalls?: number;
  /** Cost in USD when the member knows it; otherwise computed from the price table. */
  costUsd?: number;
}

/** One event a member reports while it works, multiplexed into the run's stream. */
export interface MemberEvent {
  /** e.g. "text-delta", "tool-call", "tool-result", "status", "artifact". */
  type: string;
  /** JSON-serialisable. */
  data?: unknown;
}

/** What the engine gives a member for one call. */
export interface MemberCallContext {
  /** The team run this call belongs to, and its team's name. */
  readonly runId: string;
  readonly team: string;
  /** The step's path in the run, e.g. `pipeline/1:draft#2` (attempt 2). */
  readonly path: string;
  /**
   * Unique per run, step and attempt: a member that did the work already for this key must return
   * the same result without doing it again (the engine may call again after a crash).
   */
  readonly idempotencyKey: string;
  /** Aborted when the run or the step is cancelled or times out. */
  readonly signal: AbortSignal;
  /** The agent that owns the run (its `env`, sub-agents and storage). */
  readonly owner: object;
  /**
   * Reports progress; each event is journaled and streamed to watchers of the run. Throws a
   * `RangeError` for `data` over 262,144 characters of JSON, or once the run stores 100,000 events.
   */
  emit(event: MemberEvent): void;
  /**
   * Reports usage as it is spent (the reports add up), so that it counts even if the call then fails:
   * a call that throws counts what it reported; one that returns counts its result's `usage`, or what
   * it reported when the result has none. Absent where nobody counts (a call made outside a run).
   */
  usage?(usage: MemberUsage): void;
}

/** A member's answer. */
export interface MemberResult<O = unknown> {
  output: O;
  usage?: MemberUsage;
}

/**
 * A team member. `call` may throw; the step's policy (retries, fallback) decides what happens next.
 * @example
 * const shout: TeamMember<string, string> = {
 *   kind: "member",
 *   name: "shout",
 *   description: "Upper-cases its input",
 *   async call(input) {
 *     return { output: input.toUpperCase() };
 *   },
 * };
 */
export interface TeamMember<I = unknown, O = unknown> {
  readonly kind: "member";
  /** Unique in its team; appears in paths, traces and tool names. */
  readonly name: string;
  /** What the member is good at: shown to routers and supervisors choosing among members. */
  readonly description?: string;
  /** JSON Schema of the input, when a model must produce it (supervisor tools, A2A cards). */
  readonly inputSchema?: Record<string, unknown>;
  /**
   * What one call may spend, reserved from the run's budget before it runs (default: the run's
   * `reserveTokens`); with a `model`, the cost of those tokens at its price is reserved too. Code that
   * calls no model says `{ tokens: 0 }`.
   */
  readonly estimate?: { tokens?: number; toolCalls?: number; model?: string };
  call(input: I, context: MemberCallContext): Promise<MemberResult<O>>;
}
