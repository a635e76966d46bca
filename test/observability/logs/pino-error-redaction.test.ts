/**
 * fromPino hands pino a redacted copy of an error (logged on its own or as a field), still an Error
 * of its class so pino's `err` serializer works as before: the application's pino writes no secret
 * that Hearth's own logger would have redacted.
 */
import { describe, expect, it } from "vitest";
import { types } from "node:util";
import { createLogger, fromPino } from "../../../src/observability/logs/index.ts";
import { collector } from "./collect.ts";
import { pinoLike, type PinoCall as Call } from "./pino-like.ts";


class UpstreamError extends Error {
  config: { url: string; headers: Record<string, string> };
  constructor(message: string, options: ErrorOptions & { headers: Record<string, string> }) {
    super(message, options);
    this.config = { url: "https://api.example.com", headers: options.headers };
  }
}

const SECRET = "sk-abcdefghijklmnopqrstuvwx";

function upstreamError(): UpstreamError {
  const cause = Object.assign(new Error(`socket said Bearer ${SECRET}`), { apiKey: "k-123456789" });
  return new UpstreamError(`Request failed with status code 401 (Bearer ${SECRET})`, {
    cause,
    headers: { Authorization: `Bearer ${SECRET}`, "x-api-key": "k-123456789", accept: "application/json" },
  });
}

/** What pino's std `err` serializer reads: the error's own and inherited enumerable keys, message, stack and cause. */
function seenByPino(err: Error): unknown {
  const out: Record<string, unknown> = { type: err.constructor.name, message: err.message, stack: err.stack };
  for (const key in err) out[key] = (err as unknown as Record<string, unknown>)[key];
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) out.cause = seenByPino(cause);
  return out;
}

describe("fromPino and errors", () => {
  it("passes pino a redacted copy of an error logged on its own or under err, still an Error of its class", () => {
    const calls: Call[] = [];
    const log = fromPino(pinoLike(calls));
    const error = upstreamError();
    log.error(error);
    log.error({ err: error, user: "ada" }, "upstream failed");
    expect(calls).toHaveLength(2);
    const [alone, asField] = calls.map((call) => (call.args[0] as { err: Error }).err);
    for (const err of [alone!, asField!]) {
      expect(err).not.toBe(error);
      expect(err).toBeInstanceOf(UpstreamError);
      expect(Object.getPrototypeOf(err)).toBe(UpstreamError.prototype);
      expect(types.isNativeError(err)).toBe(true);
      expect(JSON.stringify(seenByPino(err))).not.toContain(SECRET);
      expect(JSON.stringify(seenByPino(err))).not.toContain("k-123456789");
      expect(err.message).toBe("Request failed with status code 401 ([Redacted])");
      expect(err.stack).toMatch(/^Error: Request failed with status code 401 \(\[Redacted\]\)\n {4}at /);
      expect((err as UpstreamError).config).toEqual({
        url: "https://api.example.com",
        headers: { Authorization: "[Redacted]", "x-api-key": "[Redacted]", accept: "application/json" },
      });
      const cause = (err as { cause?: unknown }).cause as Error & { apiKey?: string };
      expect(cause).toBeInstanceOf(Error);
      expect(cause.message).toBe("socket said [Redacted]");
      expect(cause.apiKey).toBe("[Redacted]");
      // Enumerable as on the original: config is, message, stack and cause are not.
      expect(Object.keys(err)).toEqual(["config"]);
    }
    expect(calls[0]!.args[1]).toBe("Request failed with status code 401 ([Redacted])");
    expect(calls[1]!.args.slice(1)).toEqual(["upstream failed"]);
    // The application's error is left as it was.
    expect(error.message).toContain(SECRET);
    expect(error.config.headers.Authorization).toBe(`Bearer ${SECRET}`);
  });

  it("redacts what Hearth's own logger redacts, paths under the field included", () => {
    const calls: Call[] = [];
    const redact = ["err.config.url", "failure.config.headers.accept"];
    const log = fromPino(pinoLike(calls), { redact });
    const error = upstreamError();
    log.error(error);
    log.warn({ failure: error, token: upstreamError() }, "with others");
    const own = collector();
    createLogger({ destination: own, base: null, redact }).error(error);
    const err = (calls[0]!.args[0] as { err: UpstreamError }).err;
    expect(err.config).toEqual({ url: "[Redacted]", headers: { Authorization: "[Redacted]", "x-api-key": "[Redacted]", accept: "application/json" } });
    // Hearth's logger appends the cause chain to message and stack; the redaction is the same.
    expect(own.at(0).err).toMatchObject({ type: "UpstreamError", message: `${err.message}: socket said [Redacted]`, config: err.config });
    const fields = calls[1]!.args[0] as { failure: UpstreamError; token: unknown };
    expect(fields.failure).toBeInstanceOf(UpstreamError);
    expect(fields.failure.config.headers.accept).toBe("[Redacted]");
    expect(fields.failure.config.url).toBe("https://api.example.com");
    // Under a secret's name the whole error is censored, as any other value there.
    expect(fields.token).toBe("[Redacted]");
  });

  it("copies an AggregateError's errors and survives a cause cycle", () => {
    const calls: Call[] = [];
    const a = new Error(`a Bearer ${SECRET}`);
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    fromPino(pinoLike(calls)).error(new AggregateError([a, "plain"], "several"));
    const err = (calls[0]!.args[0] as { err: AggregateError }).err;
    expect(err).toBeInstanceOf(AggregateError);
    expect(err.errors[0]).toBeInstanceOf(Error);
    expect((err.errors[0] as Error).message).toBe("a [Redacted]");
    expect(err.errors[1]).toBe("plain");
    const copyOfB = (err.errors[0] as { cause: Error }).cause;
    expect((copyOfB as { cause?: unknown }).cause).toBe(err.errors[0]);
  });
});
