/**
 * The shape every flow control shares: a wrapper around a piece of work, keyed by an expression of
 * the work's input (the user id, the tenant, the route…).
 */

/**
 * Which key a call counts against: a fixed string (every call shares it) or a function of the input.
 * @example
 * const byUser: KeyOf<Request> = (request) => request.headers.get("x-user") ?? "anonymous";
 */
export type KeyOf<I> = string | ((input: I) => string);

/** The work a control wraps. `signal` is aborted when the caller gives up or a newer call cancels it. */
export type Work<I, T> = (input: I, signal: AbortSignal) => T | Promise<T>;

/** Per-call options of {@link FlowControl.run}. */
export interface RunOptions {
  /**
   * The caller gives up: a call still waiting (in a queue, a debounce, behind a singleton) is removed
   * and rejects with `signal.reason`; a running one sees the abort through the work's own signal.
   */
  signal?: AbortSignal;
}

/** The kinds of control, in the order {@link combine} applies them (Inngest's documented order). */
export type FlowControlKind = "rateLimit" | "debounce" | "singleton" | "throttle" | "concurrency";

/**
 * A flow control: `run(input, work)` runs `work(input, signal)` when the control lets it, and returns
 * what the work returns (or rejects with a {@link FlowControlError} when the control refuses it).
 * @example
 * const perUser = concurrency<string>({ limit: 1, key: (userId) => userId });
 * const answer = await perUser.run("alice", async (userId, signal) => reply(userId, signal));
 */
export interface FlowControl<I = unknown> {
  /** The controls inside, in the order they apply (one for a single control). */
  readonly kinds: readonly FlowControlKind[];
  run<T>(input: I, work: Work<I, T>, options?: RunOptions): Promise<T>;
}
