import type { AttributeValue } from "@opentelemetry/api";

/** The kind of a span, as the inspector and the store write it. */
export type SpanKindName = "internal" | "server" | "client" | "producer" | "consumer";

/** A span's outcome: 0 unset, 1 ok, 2 error (OpenTelemetry's SpanStatusCode). */
export interface SpanStatusRecord {
  readonly code: 0 | 1 | 2;
  readonly message?: string;
}

/** Something that happened during a span (an exception, a first chunk). */
export interface SpanEventRecord {
  readonly name: string;
  /** Epoch milliseconds (fractional). */
  readonly time: number;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A link to another span (a workflow step to the request that started the workflow). */
export interface SpanLinkRecord {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/**
 * A finished span as the local store keeps it, the inspector shows it and the OTLP exporter sends it.
 * Times are epoch milliseconds with sub-millisecond fractions.
 */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: SpanKindName;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly status: SpanStatusRecord;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly events: readonly SpanEventRecord[];
  readonly links: readonly SpanLinkRecord[];
  /** Attributes dropped by the per-span limit (OTLP's `droppedAttributesCount`). */
  readonly dropped?: number;
  /** Events dropped by the per-span limit, exceptions included (`droppedEventsCount`). */
  readonly droppedEvents?: number;
  /** Links dropped by the per-span limit (`droppedLinksCount`). */
  readonly droppedLinks?: number;
}

/** Per-span limits: what a span keeps when code writes more. */
export const SPAN_LIMITS = {
  /** Attributes per span; later ones are dropped (counted in `dropped`). */
  maxAttributes: 128,
  /** Events per span (exceptions included); later ones are dropped (counted in `droppedEvents`). */
  maxEvents: 128,
  /** Links per span; later ones are dropped (counted in `droppedLinks`). */
  maxLinks: 32,
  /** Characters of a string attribute value; longer values are cut and end with "…". */
  maxAttributeLength: 4096,
} as const;
