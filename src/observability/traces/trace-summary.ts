import {
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_MODEL,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  HEARTH_AGENT_CLASS,
  HEARTH_AGENT_NAME,
  HEARTH_COST_USD,
} from "./semconv.ts";
import type { SpanRecord } from "./span-record.ts";

/**
 * The agent a span's attributes name: Hearth's own (`hearth.agent.*`), else the GenAI conventions'
 * (`gen_ai.agent.*`, on model and tool spans).
 * @example spanAgent(span.attributes) // { className: "Chat", name: "ada" }
 */
export function spanAgent(attributes: Readonly<Record<string, unknown>>): { className: string | undefined; name: string | undefined } {
  return {
    className: str(attributes[HEARTH_AGENT_CLASS]) ?? str(attributes[GEN_AI_AGENT_NAME]),
    name: str(attributes[HEARTH_AGENT_NAME]) ?? str(attributes[GEN_AI_AGENT_ID]),
  };
}

/** One trace in a list: what the inspector's trace table shows (docs/inspector/api.md §Traces). */
export interface TraceSummary {
  readonly traceId: string;
  /** The name of the trace's root span (the earliest span when the root is not kept). */
  readonly rootName: string;
  /** The outermost agent's class (of the earliest span naming one). */
  readonly class?: string;
  /** The outermost agent's instance name. */
  readonly agent?: string;
  readonly conversation?: string;
  /** Every model the trace's chat spans called. */
  readonly models: readonly string[];
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Spans kept for this trace. */
  readonly spans: number;
  /** True when any span failed. */
  readonly error: boolean;
  /** Input plus output tokens of the trace's chat spans. */
  readonly tokens: number;
  /** Summed `hearth.cost.usd` of the trace's chat spans. */
  readonly costUsd: number;
}

/** A trace's summary, kept up to date as its spans arrive. */
export class TraceAccumulator {
  readonly traceId: string;
  readonly spans: SpanRecord[] = [];
  #root: SpanRecord | undefined;
  #earliest = Infinity;
  #latest = -Infinity;
  #class: string | undefined;
  #agent: string | undefined;
  #agentAt = Infinity;
  #conversation: string | undefined;
  #models: Set<string> | undefined;
  #error = false;
  #tokens = 0;
  #cost = 0;

  constructor(traceId: string) {
    this.traceId = traceId;
  }

  add(span: SpanRecord): void {
    this.spans.push(span);
    if (span.startedAt < this.#earliest) this.#earliest = span.startedAt;
    if (span.endedAt > this.#latest) this.#latest = span.endedAt;
    if (!span.parentSpanId) this.#root = span;
    const a = span.attributes;
    // The trace's agent is the outermost one: the earliest-starting span that names an agent.
    const agent = spanAgent(a);
    if (agent.className !== undefined && span.startedAt < this.#agentAt) {
      this.#agentAt = span.startedAt;
      this.#class = agent.className;
      this.#agent = agent.name;
    }
    this.#conversation ??= str(a[GEN_AI_CONVERSATION_ID]);
    if (span.status.code === 2) this.#error = true;
    if (a[GEN_AI_OPERATION_NAME] === GEN_AI_OPERATION_CHAT) {
      const model = str(a[GEN_AI_REQUEST_MODEL]) ?? str(a[GEN_AI_RESPONSE_MODEL]);
      if (model) (this.#models ??= new Set()).add(model);
      this.#tokens += num(a[GEN_AI_USAGE_INPUT_TOKENS]) + num(a[GEN_AI_USAGE_OUTPUT_TOKENS]);
      this.#cost += num(a[HEARTH_COST_USD]);
    }
  }

  get startedAt(): number {
    return this.#earliest;
  }

  get durationMs(): number {
    return this.#root ? this.#root.endedAt - this.#root.startedAt : this.#latest - this.#earliest;
  }

  summary(): TraceSummary {
    const rootName = this.#root?.name ?? this.spans.reduce((a, b) => (b.startedAt < a.startedAt ? b : a)).name;
    return {
      traceId: this.traceId,
      rootName,
      ...(this.#class ? { class: this.#class } : {}),
      ...(this.#agent ? { agent: this.#agent } : {}),
      ...(this.#conversation ? { conversation: this.#conversation } : {}),
      models: this.#models ? [...this.#models] : [],
      startedAt: this.#earliest,
      durationMs: this.durationMs,
      spans: this.spans.length,
      error: this.#error,
      tokens: this.#tokens,
      costUsd: this.#cost,
    };
  }
}

/** The summary of one trace's spans. */
export function summarizeTrace(traceId: string, spans: readonly SpanRecord[]): TraceSummary {
  const accumulator = new TraceAccumulator(traceId);
  for (const span of spans) accumulator.add(span);
  return accumulator.summary();
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
