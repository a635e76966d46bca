/**
 * The OTEL_* variables as the specification reads them (empty is unset, enum values in any case, the
 * variable named in errors), and mistakes refused when tracing is set up, without showing credentials.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { disableTracing, enableTracing, OtlpTraceExporter, otlpConfigFromEnv } from "../../../src/observability/traces/index.ts";
import { withoutUserinfo } from "../../../src/observability/traces/otlp-check.ts";

afterEach(async () => {
  await disableTracing();
  vi.restoreAllMocks();
});

const BASE = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };

/** The error `fn` throws, as text. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("did not throw");
}

describe("OTEL_* variables", () => {
  it("treats an empty per-signal variable as unset, so the generic one applies", () => {
    const config = otlpConfigFromEnv({
      ...BASE,
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "",
      OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: " ",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
    });
    expect(config).toMatchObject({ endpoint: "http://c:4318/v1/traces", headers: { authorization: "Bearer abc" }, timeoutMs: 2500, warnings: [] });
    expect(() => otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "" })).toThrow(
      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported",
    );
    expect(otlpConfigFromEnv({ ...BASE, OTEL_TRACES_EXPORTER: "" })).toBeDefined();
  });

  it("reads enum values in any case", () => {
    expect(otlpConfigFromEnv({ ...BASE, OTEL_TRACES_EXPORTER: "NONE" })).toBeUndefined();
    expect(otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/JSON" })?.warnings).toEqual([]);
  });

  it("names the protocol variable that was set", () => {
    expect(thrown(() => otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }))).toBe(
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported by Hearth's built-in exporter, which sends OTLP/HTTP JSON; use http/json, or register the OpenTelemetry SDK with a grpc exporter",
    );
  });

  it("warns about a timeout that is not a number of milliseconds, once, and uses the default", () => {
    const config = otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "10s" });
    const warning = '[hearth] OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="10s" is not a whole number of milliseconds above 0; the OTLP exporter uses 10000 ms';
    expect(config).toMatchObject({ timeoutMs: 10_000, warnings: [warning] });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    enableTracing({ env: { ...BASE, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "10s" }, aiSdk: false });
    enableTracing({ env: { ...BASE, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "10s" }, aiSdk: false });
    expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([warning]);
  });

  it("appends /v1/traces to the base endpoint's path, before its query", () => {
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://ingest.example/otlp/?tenant=acme" })?.endpoint).toBe("https://ingest.example/otlp/v1/traces?tenant=acme");
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://ingest.example/t?tenant=acme" })?.endpoint).toBe("https://ingest.example/t?tenant=acme");
  });

  it("accepts http/protobuf with a warning, printed once, that JSON is sent", () => {
    const config = otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" });
    expect(config?.warnings).toHaveLength(1);
    const [warning] = config!.warnings;
    expect(warning).toContain("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf: Hearth's built-in exporter sends OTLP/HTTP JSON (content-type: application/json), not protobuf");
    expect(warning).toContain("Set OTEL_EXPORTER_OTLP_PROTOCOL=http/json");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    enableTracing({ env: { ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }, aiSdk: false });
    enableTracing({ env: { ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }, aiSdk: false });
    expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([warning]);
  });
});

describe("OTLP settings refused at set-up, without credentials in the message", () => {
  it("refuses an endpoint with a user name and password, and says to send them as a header", () => {
    for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
      const message = thrown(() => otlpConfigFromEnv({ [name]: "http://alice:hunter2pw@collector:4318/x" }));
      expect(message).toContain(`(from ${name}) has a user name or password in it`);
      expect(message).toContain("OTEL_EXPORTER_OTLP_HEADERS=Authorization=");
      expect(message).not.toMatch(/alice|hunter2pw/);
    }
    expect(() => enableTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://alice:hunter2pw@collector:4318" } })).toThrow("has a user name or password in it");
    expect(() => new OtlpTraceExporter({ endpoint: "https://alice:hunter2pw@collector/v1/traces" })).toThrow("has a user name or password in it");
  });

  it("shows an endpoint that is not http(s) without its user name and password", () => {
    expect(thrown(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://alice:hunter2pw@collector" }))).toBe(
      'OTLP traces endpoint "ftp://collector" is not an http(s) URL (from OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
    expect(thrown(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "alice:hunter2pw@collector:4318" }))).toBe(
      'OTLP traces endpoint "collector:4318" is not an http(s) URL (from OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
  });

  it("refuses headers fetch could not send, naming the header but not its value", () => {
    expect(thrown(() => otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=Bearer%20t%E2%82%ACken" }))).toBe(
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS: the value of header "authorization" cannot be sent: HTTP header values are Latin-1 text without line breaks',
    );
    expect(thrown(() => otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_HEADERS: "x-key=a%0D%0Ab" }))).toContain('the value of header "x-key" cannot be sent');
    expect(thrown(() => otlpConfigFromEnv({ ...BASE, OTEL_EXPORTER_OTLP_HEADERS: "api key=1" }))).toBe(
      "OTEL_EXPORTER_OTLP_HEADERS: \"api key\" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
    );
    expect(() => new OtlpTraceExporter({ endpoint: "http://c:4318/v1/traces", headers: { authorization: "t€ken" } })).toThrow(
      `the OTLP exporter's headers option: the value of header "authorization" cannot be sent`,
    );
  });

  it("takes user names and passwords out of URLs in messages", () => {
    expect(withoutUserinfo("POST http://alice:hunter2@collector:4318/v1/traces failed; see https://bob@docs.example/x")).toBe(
      "POST http://collector:4318/v1/traces failed; see https://docs.example/x",
    );
    expect(withoutUserinfo("http://alice:p@ss@collector/v1")).toBe("http://collector/v1");
  });
});
