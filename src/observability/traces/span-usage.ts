import { GEN_AI_AGENT_NAME, GEN_AI_OPERATION_CHAT, GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_RESPONSE_MODEL, GEN_AI_USAGE_INPUT_TOKENS, GEN_AI_USAGE_OUTPUT_TOKENS, HEARTH_COST_USD } from "./semconv.ts";
import type { SpanRecord } from "./span-record.ts";

/** The token usage a `chat` span recorded: what a metrics hook counts by class and model. */
export interface ChatSpanUsage {
  /** The agent class (`gen_ai.agent.name`), when the call ran inside an agent. */
  readonly className: string | undefined;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** `hearth.cost.usd`, when the model has a price. */
  readonly costUsd: number | undefined;
}

/**
 * The usage of a `chat {model}` span, or undefined for any other span.
 * @example onSpanEnd((span) => { const u = chatSpanUsage(span); if (u) metrics.recordTokens(u.className ?? "", u.model, u.inputTokens, u.outputTokens); });
 */
export function chatSpanUsage(span: SpanRecord): ChatSpanUsage | undefined {
  const a = span.attributes;
  if (a[GEN_AI_OPERATION_NAME] !== GEN_AI_OPERATION_CHAT) return undefined;
  const model = a[GEN_AI_REQUEST_MODEL] ?? a[GEN_AI_RESPONSE_MODEL];
  const className = a[GEN_AI_AGENT_NAME];
  const cost = a[HEARTH_COST_USD];
  return {
    className: typeof className === "string" ? className : undefined,
    model: typeof model === "string" ? model : "unknown",
    inputTokens: typeof a[GEN_AI_USAGE_INPUT_TOKENS] === "number" ? a[GEN_AI_USAGE_INPUT_TOKENS] : 0,
    outputTokens: typeof a[GEN_AI_USAGE_OUTPUT_TOKENS] === "number" ? a[GEN_AI_USAGE_OUTPUT_TOKENS] : 0,
    costUsd: typeof cost === "number" ? cost : undefined,
  };
}
