/**
 * An error line cut at the line limit keeps a shortened `err` (type, the start of message and stack),
 * in the line and in what `onRecord` gets, so the error still reaches the problems list and the error
 * alerts.
 */
import { describe, expect, it } from "vitest";
import { createLogger, MAX_LINE_BYTES, TRUNCATED_MSG_CHARS, TRUNCATED_STACK_CHARS, type LogRecord } from "../../../src/observability/logs/index.ts";
import { LogStore, ProblemStore } from "../../../src/observability/store/index.ts";
import { collector } from "./collect.ts";

const NOW = 1_764_730_000_000;

/** Like the AI SDK's APICallError: it carries the request body (the whole conversation). */
function bigApiError(message = "Bad Request: context length exceeded"): Error {
  return Object.assign(new Error(message), {
    name: "AI_APICallError",
    requestBodyValues: { messages: Array.from({ length: 400 }, (_, i) => ({ role: "user", content: "x".repeat(400) + i })) },
  });
}

describe("an error record over the line limit", () => {
  it("keeps a shortened err in the line and in onRecord, and still counts as a problem", () => {
    const out = collector();
    const seen: LogRecord[] = [];
    const logs = new LogStore();
    const problems = new ProblemStore({ now: () => NOW + 1 });
    const stop = problems.observe(logs);
    try {
      const log = createLogger({ destination: out, base: null, now: () => NOW, onRecord: (record) => (seen.push(record), logs.onRecord(record)) });
      const error = bigApiError();
      log.error(error);
      logs.flush();
      const line = out.at(0);
      expect(out.lines[0]!.length).toBeLessThan(MAX_LINE_BYTES);
      expect(line).toMatchObject({ level: 50, truncated: true, msg: "Bad Request: context length exceeded" });
      expect(line.err).toEqual({ type: "Error", name: "AI_APICallError", message: "Bad Request: context length exceeded", stack: error.stack });
      expect(seen).toEqual([line]);
      expect(problems.recent().map((problem) => `${problem.name}: ${problem.message}`)).toEqual(["Error: Bad Request: context length exceeded"]);
      expect(problems.countSince({}, 0)).toBe(1);
    } finally {
      stop();
      logs.close();
    }
  });

  it("cuts the kept error's message and stack, also of an err given as a field", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const error = bigApiError("m".repeat(TRUNCATED_MSG_CHARS + 100));
    error.stack = "s".repeat(TRUNCATED_STACK_CHARS + 100);
    log.error({ err: error, blob: "b".repeat(MAX_LINE_BYTES) }, "failed");
    const { err } = out.at(0) as { err?: Record<string, string> };
    expect(out.at(0).truncated).toBe(true);
    expect(err).toEqual({ type: "Error", name: "AI_APICallError", message: "m".repeat(TRUNCATED_MSG_CHARS), stack: "s".repeat(TRUNCATED_STACK_CHARS) });
  });
});
