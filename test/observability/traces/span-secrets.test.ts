/**
 * Secrets in errors stay out of spans: the message, stack and status a failed span records have the
 * given secret values and credential-shaped values replaced, in the local store and in OTLP export.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { disableTracing, enableTracing, withSpan } from "../../../src/observability/traces/index.ts";

const SECRET = "hunter2-project-secret";
const TOKEN = "Bearer abcdefgh12345678";

let server: Server;
let url: string;
let bodies: string[];

beforeEach(async () => {
  bodies = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
});
afterEach(async () => {
  await disableTracing();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("secrets in a failed span", () => {
  it("are replaced in its status, exception message and stack, in the store and in OTLP", async () => {
    const tracing = enableTracing({ secrets: [SECRET], otlp: { endpoint: url } });
    const traceId = withSpan("login", {}, (span) => {
      try {
        withSpan("call upstream", {}, () => {
          throw new Error(`upstream refused key ${SECRET} (sent ${TOKEN})`);
        });
      } catch {
        // recorded on the span
      }
      return span.spanContext().traceId;
    });
    await tracing.exporter!.flush();
    const failed = tracing.store.getTrace(traceId)!.spans.find((span) => span.name === "call upstream")!;
    expect(failed.status).toEqual({ code: 2, message: "upstream refused key [Redacted] (sent [Redacted])" });
    const exception = failed.events[0]!.attributes!;
    expect(exception["exception.message"]).toBe("upstream refused key [Redacted] (sent [Redacted])");
    expect(String(exception["exception.stacktrace"])).toContain("Error: upstream refused key [Redacted] (sent [Redacted])");
    expect(exception["exception.type"]).toBe("Error");
    expect(bodies.join("")).toContain("upstream refused key [Redacted]");
    expect(bodies.join("")).not.toContain(SECRET);
    expect(bodies.join("")).not.toContain("abcdefgh12345678");
    expect(JSON.stringify(failed)).not.toContain(SECRET);
  });
});
