import { checkListAppend, type FinalLists, type ListAppendOp, type ListAppendReport, type OpOutcome } from "./checker.ts";

/**
 * Thrown (or set as a `cause`) by a client wrapper that knows its request never reached the system —
 * e.g. it refused the call before sending. The recorder then records the op as `fail`.
 *
 * @example
 * if (!connected) throw new NotSentError("no connection to node b");
 */
export class NotSentError extends Error {
  override name = "NotSentError";
}

/** Error codes that mean the request cannot have been sent: the connection was never made. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOTFOUND"]);

/**
 * `fail` when the error surely means the request never left (connection refused, unknown host, a
 * {@link NotSentError}), looking through `cause` chains and AggregateErrors (all of whose errors must be
 * such); `info` otherwise — a timeout, a reset or a server error may come after the change took effect.
 *
 * @example
 * classifyError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })); // "fail"
 * classifyError(new Error("Query read timeout")); // "info"
 */
export function classifyError(error: unknown): "fail" | "info" {
  return surelyNotSent(error, 0) ? "fail" : "info";
}

function surelyNotSent(error: unknown, depth: number): boolean {
  if (depth > 8 || typeof error !== "object" || error === null) return false;
  if (error instanceof NotSentError) return true;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && NOT_SENT_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((inner) => surelyNotSent(inner, depth + 1))) return true;
  return surelyNotSent(cause, depth + 1);
}

/** What one recorded op came to. Errors are returned, not thrown, so load loops keep going. */
export type Recorded<T> = { readonly outcome: "ok"; readonly result: T } | { readonly outcome: "fail" | "info"; readonly error: unknown };

export interface HistoryRecorderOptions {
  /** Monotonic milliseconds (default `performance.now`). */
  readonly now?: () => number;
  /** Overrides {@link classifyError}; return undefined to fall back to it. */
  readonly classify?: (error: unknown) => "fail" | "info" | undefined;
}

export interface HistoryRecorder {
  /** Runs an append of `value` to `key` and records it. */
  append<T>(key: string, value: string | number, run: () => Promise<T>): Promise<Recorded<T>>;
  /** Runs a read of `key` (which must resolve to the whole list) and records it. */
  read(key: string, run: () => Promise<readonly unknown[]>): Promise<Recorded<readonly unknown[]>>;
  /** Ops started so far, in completion order; ops still running appear as `info`, completed now. */
  readonly history: readonly ListAppendOp[];
  /** Operations still running. */
  readonly pending: number;
  /** {@link checkListAppend} of {@link history} against the final lists. */
  check(finals: FinalLists): ListAppendReport;
}

/**
 * Records a list-append history from concurrent async clients: each op is stamped when invoked and
 * when it settles, and its outcome classified (an error is `fail` only when the request surely did not
 * happen). Values must be unique per key.
 *
 * @example
 * const recorder = createHistoryRecorder();
 * await Promise.all(clients.map(async (client, c) => {
 *   for (let i = 0; i < 100; i++) {
 *     await recorder.append("agent-1", `${c}-${i}`, () => client.append("agent-1", `${c}-${i}`));
 *     await recorder.read("agent-1", () => client.read("agent-1"));
 *   }
 * }));
 * const report = recorder.check({ "agent-1": await reader.read("agent-1") });
 */
export function createHistoryRecorder(options: HistoryRecorderOptions = {}): HistoryRecorder {
  const now = options.now ?? (() => performance.now());
  const classify = (error: unknown): "fail" | "info" => options.classify?.(error) ?? classifyError(error);
  const done: ListAppendOp[] = [];
  const running = new Set<ListAppendOp>();

  async function record<T>(started: ListAppendOp, run: () => Promise<T>, resultOf: (value: T) => readonly unknown[] | undefined): Promise<Recorded<T>> {
    running.add(started);
    const finish = (outcome: OpOutcome, result?: readonly unknown[]): void => {
      running.delete(started);
      done.push({ ...started, completedAt: now(), outcome, ...(result ? { result } : {}) });
    };
    let value: T;
    try {
      value = await run();
    } catch (error) {
      const outcome = classify(error);
      finish(outcome);
      return { outcome, error };
    }
    let result: readonly unknown[] | undefined;
    try {
      result = resultOf(value);
    } catch (error) {
      finish("info"); // the test's read function is wrong, not the system: say so loudly
      throw error;
    }
    finish("ok", result);
    return { outcome: "ok", result: value };
  }

  return {
    append(key, value, run) {
      const invokedAt = now();
      return record({ key, type: "append", value, invokedAt, completedAt: invokedAt, outcome: "info" }, run, () => undefined);
    },
    read(key, run) {
      const invokedAt = now();
      return record({ key, type: "read", invokedAt, completedAt: invokedAt, outcome: "info" }, run, (list) => {
        if (!Array.isArray(list)) throw new TypeError(`recorder.read: the read of key ${JSON.stringify(key)} returned ${typeof list}, not a list`);
        return [...(list as readonly unknown[])];
      });
    },
    get history() {
      const at = now();
      return [...done, ...[...running].map((op) => ({ ...op, completedAt: at }))];
    },
    get pending() {
      return running.size;
    },
    check(finals) {
      return checkListAppend(this.history, finals);
    },
  };
}
