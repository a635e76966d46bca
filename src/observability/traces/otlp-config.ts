import type { AttributeValue } from "@opentelemetry/api";
import { SERVICE_NAME } from "./semconv.ts";

/** Where and how spans are exported, read from the standard OTEL_* variables. */
export interface OtlpConfig {
  /** The full traces URL, e.g. "http://collector:4318/v1/traces". */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The OTLP/HTTP traces exporter's settings from the environment, or undefined when neither
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or
 * `OTEL_TRACES_EXPORTER=none`). The base endpoint gets `/v1/traces` appended; the traces endpoint is
 * used as given. Only `http/json` is spoken: another `OTEL_EXPORTER_OTLP_PROTOCOL` is refused with an
 * error that says so.
 * @example otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" })?.endpoint // "http://localhost:4318/v1/traces"
 */
export function otlpConfigFromEnv(env: Env = process.env): OtlpConfig | undefined {
  if (env.OTEL_TRACES_EXPORTER?.trim() === "none") return undefined;
  const own = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!own && !base) return undefined;
  const endpoint = own || `${base!.replace(/\/+$/, "")}/v1/traces`;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new Error(`OTLP traces endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (from OTEL_EXPORTER_OTLP_${own ? "TRACES_" : ""}ENDPOINT)`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== "http/json" && protocol !== "http/protobuf") {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by Hearth's built-in exporter, which sends OTLP/HTTP JSON; use http/json, or register the OpenTelemetry SDK with a ${protocol} exporter`);
  }
  const timeout = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000);
  return {
    endpoint,
    headers: parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 10_000,
    resource: resourceFromEnv(env),
  };
}

/** `key1=value1,key2=value2` with percent-encoded values (the OTEL_EXPORTER_OTLP_HEADERS format). */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!text) return headers;
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    if (!key) continue;
    try {
      headers[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      headers[key] = pair.slice(at + 1).trim();
    }
  }
  return headers;
}

/** `service.name` (OTEL_SERVICE_NAME, default "hearth") and OTEL_RESOURCE_ATTRIBUTES. */
export function resourceFromEnv(env: Env): Record<string, AttributeValue> {
  const resource: Record<string, AttributeValue> = parseHeaders(env.OTEL_RESOURCE_ATTRIBUTES);
  resource[SERVICE_NAME] = env.OTEL_SERVICE_NAME?.trim() || (resource[SERVICE_NAME] as string | undefined) || "hearth";
  resource["telemetry.sdk.name"] = "hearth";
  resource["telemetry.sdk.language"] = "nodejs";
  return resource;
}
