/**
 * How a code run's outcome reaches the model: errors as `{ name, message }`, the return value as
 * JSON cut to a bound, console output cut to a bound. Shared by every code-mode tool.
 */
import type { ExecuteResult } from "./executor.ts";
import { MIN_LOG_LINE_CHARS } from "./limits.ts";

/**
 * What the code tool returns to the model: `{ result, logs }`, `{ result, truncated, logs }` or
 * `{ error, logs }`.
 *
 * @example
 * ```ts
 * const out = (await codemode.execute!({ code }, options)) as CodeToolOutput;
 * if (out.error) console.error(out.error.limit ?? out.error.name, out.error.message);
 * ```
 */
export interface CodeToolOutput {
  /** The function's return value (JSON-serializable), or its JSON cut to the bound, as a string, when `truncated`. */
  result?: unknown;
  /** Why the run failed: a thrown error, a tool's error, a sandbox limit (`limit` names it). */
  error?: { name: string; message: string; limit?: string };
  /** Set when `result` was cut to `maxResultChars`. */
  truncated?: true;
  /**
   * Console output, one entry per call; non-`log` levels are prefixed (`[warn] …`). Then, outside
   * the bound, a `[warn]` line per tool call that was still running when the run ended.
   */
  logs: string[];
}

/**
 * The marker that ends a cut result or log: `… [truncated: <total> characters, <kept> shown]`.
 *
 * @example
 * ```ts
 * truncationMarker(52_000, 20_000); // "… [truncated: 52000 characters, 20000 shown]"
 * ```
 */
export function truncationMarker(total: number, kept: number): string {
  return `… [truncated: ${total} characters, ${kept} shown]`;
}

/** Zod and Standard Schema issues as `input.path: message`; anything else as its message. */
export function issuesOf(error: unknown): string[] {
  const carrier = error as { issues?: unknown; cause?: { issues?: unknown }; message?: unknown };
  const issues = Array.isArray(carrier?.issues) ? carrier.issues : Array.isArray(carrier?.cause?.issues) ? carrier.cause.issues : undefined;
  if (issues === undefined) return [typeof carrier?.message === "string" ? carrier.message : String(error)];
  return issues.slice(0, 10).map((issue: { path?: unknown; message?: unknown }) => {
    const path = Array.isArray(issue.path)
      ? issue.path.map((p) => (typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p))
      : [];
    const where = path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), "input");
    return `${where}: ${typeof issue.message === "string" ? issue.message : "invalid"}`;
  });
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** A streaming tool's final value (the AI SDK treats the last yielded value as the output). */
export async function lastOf(iterable: AsyncIterable<unknown>): Promise<unknown> {
  let last: unknown;
  for await (const value of iterable) last = value;
  return last;
}

export function errorShape(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: typeof error === "string" ? error : safeJson(error) ?? String(error) };
}

export function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

export function shapeOutput(run: ExecuteResult, maxResultChars: number, maxLogChars: number): CodeToolOutput {
  const output: CodeToolOutput = { logs: boundLogs(run.logs, maxLogChars) };
  if (run.error !== undefined) {
    // Handed to the model as a result is: cut to the same size.
    const { name, message } = run.error;
    output.error = { ...run.error, name: name.slice(0, 256), message: message.length > maxResultChars ? message.slice(0, maxResultChars) + truncationMarker(message.length, maxResultChars) : message };
    return output;
  }
  if (run.result === undefined) return output;
  const json = safeJson(run.result);
  if (json === undefined) {
    output.error = { name: "TypeError", message: "the return value is not JSON-serializable" };
  } else if (json.length > maxResultChars) {
    output.result = json.slice(0, maxResultChars) + truncationMarker(json.length, maxResultChars);
    output.truncated = true;
  } else {
    output.result = JSON.parse(json) as unknown;
  }
  return output;
}

function boundLogs(logs: ExecuteResult["logs"], maxChars: number): string[] {
  const lines = logs.map((l) => (l.level === "log" ? l.message : `[${l.level}] ${l.message}`));
  // Every line counts MIN_LOG_LINE_CHARS at least: a flood of empty lines is bounded as text is.
  const cost = (line: string) => Math.max(line.length, MIN_LOG_LINE_CHARS);
  const total = lines.reduce((n, l) => n + cost(l), 0);
  if (total <= maxChars) return lines;
  const out: string[] = [];
  let budget = maxChars;
  for (const line of lines) {
    if (budget <= 0) break;
    out.push(line.length > budget ? line.slice(0, budget) : line);
    budget -= cost(line);
  }
  out.push(truncationMarker(total, maxChars).replace(/^… /, ""));
  return out;
}
