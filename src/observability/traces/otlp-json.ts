import type { AttributeValue } from "@opentelemetry/api";
import type { SpanKindName, SpanRecord } from "./span-record.ts";

/** OTLP's SpanKind enum values (opentelemetry-proto trace.proto). */
const KINDS: Record<SpanKindName, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

/** An OTLP/JSON AnyValue. */
export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | "NaN" | "Infinity" | "-Infinity" }
  | { arrayValue: { values: OtlpAnyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

function anyValue(value: AttributeValue | null | undefined): OtlpAnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return numberValue(value);
  if (Array.isArray(value)) return { arrayValue: { values: (value as Array<AttributeValue | null | undefined>).map(anyValue) } };
  return { stringValue: "" };
}

const INT64_LIMIT = 2 ** 63;

/**
 * An int64 (as a decimal string) for a whole number in int64's range, else a double; protojson
 * spells non-finite doubles as strings. (`String(1e21)` is "1e+21", which no receiver takes as an int64.)
 */
function numberValue(value: number): OtlpAnyValue {
  if (Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT) return { intValue: BigInt(value).toString() };
  if (Number.isFinite(value)) return { doubleValue: value };
  return { doubleValue: Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity" };
}

function keyValues(attributes: Readonly<Record<string, AttributeValue>> | undefined): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  if (attributes) for (const key in attributes) out.push({ key, value: anyValue(attributes[key]) });
  return out;
}

/** Epoch milliseconds (fractional) as OTLP's nanoseconds string (64-bit integers are strings in OTLP/JSON). */
function nanos(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1e6);
  return `${BigInt(whole) * 1_000_000n + BigInt(micros)}`;
}

/**
 * A batch of spans as an OTLP/JSON `ExportTraceServiceRequest`: lowerCamelCase fields, hex ids,
 * nanosecond times and 64-bit integers as strings, enums as integers.
 */
export function toOtlpJson(spans: readonly SpanRecord[], resource: Readonly<Record<string, AttributeValue>>, scope: { name: string; version?: string }) {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: scope.version ? { name: scope.name, version: scope.version } : { name: scope.name },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: KINDS[span.kind],
              startTimeUnixNano: nanos(span.startedAt),
              endTimeUnixNano: nanos(span.endedAt),
              attributes: keyValues(span.attributes),
              ...(span.dropped ? { droppedAttributesCount: span.dropped } : {}),
              ...(span.droppedEvents ? { droppedEventsCount: span.droppedEvents } : {}),
              ...(span.droppedLinks ? { droppedLinksCount: span.droppedLinks } : {}),
              events: span.events.map((event) => ({ timeUnixNano: nanos(event.time), name: event.name, attributes: keyValues(event.attributes) })),
              links: span.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: keyValues(link.attributes) })),
              status: span.status.message ? { code: span.status.code, message: span.status.message } : { code: span.status.code },
            })),
          },
        ],
      },
    ],
  };
}
