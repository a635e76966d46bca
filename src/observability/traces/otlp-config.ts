import type { AttributeValue } from "@opentelemetry/api";
import { checkOtlpEndpoint, checkOtlpHeaders } from "./otlp-check.ts";
import { SERVICE_NAME } from "./semconv.ts";

/** Where and how spans are exported, read from the standard OTEL_* variables. */
export interface OtlpConfig {
  /** The full traces URL, e.g. "http://collector:4318/v1/traces". */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly resource: Readonly<Record<string, AttributeValue>>;
  /** What was set that works, but not as written (a timeout that is not a number, http/protobuf): to print once. */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_TIMEOUT_MS = 10_000;

/** A variable's value, trimmed; an empty one counts as unset (the specification's rule). */
function read(env: Env, name: string): { name: string; value: string } | undefined {
  const value = env[name]?.trim();
  return value ? { name, value } : undefined;
}

/** The traces variable, else the generic one (`OTEL_EXPORTER_OTLP_TRACES_X`, then `OTEL_EXPORTER_OTLP_X`). */
function readSignal(env: Env, setting: string): { name: string; value: string } | undefined {
  return read(env, `OTEL_EXPORTER_OTLP_TRACES_${setting}`) ?? read(env, `OTEL_EXPORTER_OTLP_${setting}`);
}

/**
 * The OTLP/HTTP traces exporter's settings from the environment, or undefined when neither
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or
 * `OTEL_TRACES_EXPORTER=none`). Empty variables count as unset; enum values are read in any case. The
 * base endpoint gets `/v1/traces` appended to its path; the traces endpoint is used as given. Only
 * `http/json` is spoken: `http/protobuf` is accepted with a warning, another protocol is refused. An
 * endpoint with a user name or password, or a header that cannot be sent, is refused here rather
 * than at every send.
 * @example otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" })?.endpoint // "http://localhost:4318/v1/traces"
 */
export function otlpConfigFromEnv(env: Env = process.env): OtlpConfig | undefined {
  if (read(env, "OTEL_TRACES_EXPORTER")?.value.toLowerCase() === "none") return undefined;
  const own = read(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const base = read(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  const source = own ?? base;
  if (!source) return undefined;
  checkOtlpEndpoint(source.value, source.name);
  const endpoint = own ? own.value : withTracesPath(source.value);
  const warnings: string[] = [];
  const protocol = readSignal(env, "PROTOCOL");
  const spoken = protocol?.value.toLowerCase();
  if (protocol && spoken !== "http/json" && spoken !== "http/protobuf") {
    throw new Error(
      `${protocol.name}=${protocol.value} is not supported by Hearth's built-in exporter, which sends OTLP/HTTP JSON; use http/json, or register the OpenTelemetry SDK with a ${protocol.value} exporter`,
    );
  }
  if (protocol && spoken === "http/protobuf") {
    warnings.push(
      `[hearth] ${protocol.name}=${protocol.value}: Hearth's built-in exporter sends OTLP/HTTP JSON (content-type: application/json), not protobuf. ` +
        `The OpenTelemetry Collector's otlp receiver takes both on the same path; for a backend that takes only protobuf, register the OpenTelemetry SDK with a protobuf exporter. ` +
        `Set ${protocol.name}=http/json to say JSON and silence this.`,
    );
  }
  const headers = readSignal(env, "HEADERS");
  const parsedHeaders = parseHeaders(headers?.value);
  if (headers) checkOtlpHeaders(parsedHeaders, headers.name);
  return { endpoint, headers: parsedHeaders, timeoutMs: timeoutFrom(readSignal(env, "TIMEOUT"), warnings), resource: resourceFromEnv(env), warnings };
}

/** The base endpoint with `/v1/traces` appended to its path (before its query, if it has one). */
function withTracesPath(base: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`;
  return url.href;
}

/** Milliseconds from `…_TIMEOUT`; anything but a positive integer is warned about and the default used. */
function timeoutFrom(setting: { name: string; value: string } | undefined, warnings: string[]): number {
  if (!setting) return DEFAULT_TIMEOUT_MS;
  if (/^\d+$/.test(setting.value) && Number(setting.value) > 0) return Number(setting.value);
  warnings.push(`[hearth] ${setting.name}=${JSON.stringify(setting.value)} is not a whole number of milliseconds above 0; the OTLP exporter uses ${DEFAULT_TIMEOUT_MS} ms`);
  return DEFAULT_TIMEOUT_MS;
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
