/**
 * The tool calls of one code run. Code can start a call without awaiting it, or be stopped by a
 * limit while a call runs; a call can also reach the host after the run ended (delivered late by
 * the sandbox, or from an executor that leaves the code alive). Whatever a run set off must show in
 * its output, so:
 * - a call that had not started its tool when the run ended is refused, and never executes;
 * - a call that had started is waited for (up to `RUN_END_WAIT_MS`) before the output is returned,
 *   and reported in its logs (after a failed run — error, limit — its abort signal fires first).
 */
import { RUN_END_WAIT_MS } from "./limits.ts";
import type { ExecuteResult } from "./executor.ts";
import { errorShape, shapeOutput, type CodeToolOutput } from "./output.ts";
import { setTimeout } from "node:timers"; // the runtime's own: never an actor's timer (host/actor-timers.ts)

/** Reports of calls left running, one line each up to this many, then one line for the rest. */
const MAX_REPORTED_CALLS = 10;
/** A failed call's error, as quoted in its report. */
const MAX_REPORTED_ERROR_CHARS = 200;

interface RunningCall {
  readonly identifier: string;
  /** How the call ended: "completed" or "failed: <why>"; never rejects. */
  readonly outcome: Promise<string>;
}

/** One run's gate and its started calls. */
export class RunCalls {
  /** Given to every call's tool: the code tool's own abort signal, or the run's failure. */
  readonly signal: AbortSignal;
  readonly #failed = new AbortController();
  readonly #running = new Set<RunningCall>();
  #ended = false;

  constructor(outer: AbortSignal | undefined) {
    this.signal = outer === undefined ? this.#failed.signal : AbortSignal.any([outer, this.#failed.signal]);
  }

  /** Throws unless `codemode.<identifier>` may still start: the run has not ended and was not aborted. */
  check(identifier: string): void {
    if (this.#ended) throw new Error(`codemode: the run has ended; codemode.${identifier} was not called`);
    if (this.signal.aborted) throw new Error(`codemode: the run was aborted; codemode.${identifier} was not called`);
  }

  /**
   * One call of `codemode.<identifier>` from the code: refused once the run ended, `validate`d, then
   * `execute`d as a call of this run; its failure comes back as `codemode.<identifier> failed: …`.
   */
  async call<V, T>(identifier: string, validate: () => Promise<V>, execute: (valid: V) => Promise<T>): Promise<T> {
    this.check(identifier);
    const valid = await validate();
    const running = this.start(identifier, () => execute(valid));
    try {
      return await running;
    } catch (error) {
      const shape = errorShape(error);
      const failure = new Error(`codemode.${identifier} failed: ${shape.message}`);
      failure.name = shape.name;
      throw failure;
    }
  }

  /**
   * Runs the tool of `codemode.<identifier>`, or throws (synchronously) if the run has ended. Checked
   * again here, just before the tool, because validation (the tool's own, maybe async) may outlast the run.
   */
  start<T>(identifier: string, execute: () => Promise<T>): Promise<T> {
    this.check(identifier);
    const result = execute();
    const settled = (outcome: string): string => {
      this.#running.delete(call);
      return outcome;
    };
    const call: RunningCall = {
      identifier,
      outcome: result.then(
        () => settled("completed"),
        (error: unknown) => settled(`failed: ${errorShape(error).message.slice(0, MAX_REPORTED_ERROR_CHARS)}`),
      ),
    };
    this.#running.add(call);
    return result;
  }

  /**
   * Ends the run: later calls are refused; calls still running are aborted if the run failed, then
   * waited for. Returns a report line per such call, for the output's logs.
   */
  async end(failed: boolean, waitMs = RUN_END_WAIT_MS): Promise<string[]> {
    this.#ended = true;
    const running = [...this.#running];
    if (running.length === 0) return [];
    if (failed) this.#failed.abort(new Error("codemode: the run has ended"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = `was still running ${waitMs / 1000} s after the run ended; its result is not in this output`;
    const waited = new Promise<string>((resolve) => (timer = setTimeout(resolve, waitMs, late)));
    const outcomes = await Promise.all(running.map((call) => Promise.race([call.outcome, waited])));
    clearTimeout(timer);
    const lines = running
      .slice(0, MAX_REPORTED_CALLS)
      .map((call, i) =>
        outcomes[i] === late
          ? `[warn] codemode.${call.identifier} ${late}`
          : `[warn] codemode.${call.identifier} was still running when the run ended; the run waited for it: it ${outcomes[i]}`,
      );
    if (running.length > MAX_REPORTED_CALLS) {
      const rest = outcomes.slice(MAX_REPORTED_CALLS);
      const stillRunning = rest.filter((outcome) => outcome === late).length;
      const completed = rest.filter((outcome) => outcome === "completed").length;
      const failures = rest.length - stillRunning - completed;
      lines.push(`[warn] ${rest.length} more calls were still running when the run ended; the run waited for them: ${completed} completed, ${failures} failed, ${stillRunning} still running after ${waitMs / 1000} s`);
    }
    return lines;
  }
}

/**
 * One code run of a code tool: `run` executes the code with this run's host functions; its calls
 * are settled (refused, waited for, reported) before the output is shaped to its limits.
 */
export async function runCode(
  signal: AbortSignal | undefined,
  run: (calls: RunCalls) => Promise<ExecuteResult>,
  limits: { maxResultChars: number; maxLogChars: number },
): Promise<CodeToolOutput> {
  const calls = new RunCalls(signal);
  let result: ExecuteResult;
  try {
    result = await run(calls);
  } catch (error) {
    result = { error: errorShape(error), logs: [] };
  }
  const reports = await calls.end(result.error !== undefined);
  const output = shapeOutput(result, limits.maxResultChars, limits.maxLogChars);
  output.logs.push(...reports);
  return output;
}
