/**
 * Token accounting per chat agent: one row per model call reported through the `onFinish` callback
 * a turn hands to `onChatMessage`, plus running totals that survive the trimming of old rows.
 */
import type { LanguageModelUsage } from "ai";
import type { SqlTag } from "../storage/sql.ts";

/** Tokens of one turn, as stored. Counts a provider did not report are `null`. */
export interface ChatUsageRecord {
  /** The chat request (or continuation) the tokens were spent on. */
  requestId: string;
  at: Date;
  /** The model that reported them, e.g. `gpt-5-mini`, when known. */
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  reasoningTokens: number | null;
  cachedInputTokens: number | null;
}

/** What {@link AIChatAgent.getUsage} returns: totals since the agent was created, and recent turns. */
export interface ChatUsageSummary {
  /** Model calls counted (each `onFinish`). */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Newest first. */
  recent: ChatUsageRecord[];
}

/** The slice of the AI SDK's finish event that usage accounting reads. */
export interface UsageEvent {
  readonly totalUsage?: LanguageModelUsage;
  readonly usage?: LanguageModelUsage;
  readonly model?: { readonly modelId?: string };
}

interface UsageRow {
  request_id: string;
  at: number;
  model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  reasoning_tokens: number | null;
  cached_input_tokens: number | null;
}

export class UsageStore {
  readonly #sql: SqlTag;
  readonly #maxRows: () => number;

  constructor(sql: SqlTag, maxRows: () => number) {
    this.#sql = sql;
    this.#maxRows = maxRows;
  }

  /** Stores the usage of one model call and returns it as a record. */
  record(requestId: string, event: UsageEvent, at: number): ChatUsageRecord {
    const usage = event.totalUsage ?? event.usage;
    const record: ChatUsageRecord = {
      requestId,
      at: new Date(at),
      model: typeof event.model?.modelId === "string" ? event.model.modelId : null,
      inputTokens: count(usage?.inputTokens),
      outputTokens: count(usage?.outputTokens),
      totalTokens: count(usage?.totalTokens) ?? sumOrNull(usage?.inputTokens, usage?.outputTokens),
      reasoningTokens: count(usage?.outputTokenDetails?.reasoningTokens),
      cachedInputTokens: count(usage?.inputTokenDetails?.cacheReadTokens),
    };
    const [row] = this.#sql<{ seq: number }>`INSERT INTO hearth_chat_usage
      (request_id, at, model, input_tokens, output_tokens, total_tokens, reasoning_tokens, cached_input_tokens)
      VALUES (${requestId}, ${at}, ${record.model}, ${record.inputTokens}, ${record.outputTokens}, ${record.totalTokens},
        ${record.reasoningTokens}, ${record.cachedInputTokens}) RETURNING seq`;
    this.#sql`INSERT INTO hearth_chat_usage_totals (id, calls, input_tokens, output_tokens, total_tokens)
      VALUES (1, 1, ${record.inputTokens ?? 0}, ${record.outputTokens ?? 0}, ${record.totalTokens ?? 0})
      ON CONFLICT (id) DO UPDATE SET calls = calls + 1, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens, total_tokens = total_tokens + excluded.total_tokens`;
    this.#sql`DELETE FROM hearth_chat_usage WHERE seq <= ${row!.seq - this.#maxRows()}`;
    return record;
  }

  summary(limit: number): ChatUsageSummary {
    const totals = this.#sql<{ calls: number; input_tokens: number; output_tokens: number; total_tokens: number }>`
      SELECT calls, input_tokens, output_tokens, total_tokens FROM hearth_chat_usage_totals WHERE id = 1`[0];
    const rows = this.#sql<UsageRow>`SELECT request_id, at, model, input_tokens, output_tokens, total_tokens,
      reasoning_tokens, cached_input_tokens FROM hearth_chat_usage ORDER BY seq DESC LIMIT ${limit}`;
    return {
      calls: totals?.calls ?? 0,
      inputTokens: totals?.input_tokens ?? 0,
      outputTokens: totals?.output_tokens ?? 0,
      totalTokens: totals?.total_tokens ?? 0,
      recent: rows.map((row) => ({
        requestId: row.request_id,
        at: new Date(row.at),
        model: row.model,
        inputTokens: row.input_tokens,
        outputTokens: row.output_tokens,
        totalTokens: row.total_tokens,
        reasoningTokens: row.reasoning_tokens,
        cachedInputTokens: row.cached_input_tokens,
      })),
    };
  }
}

function count(value: number | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function sumOrNull(a: number | undefined, b: number | undefined): number | null {
  return typeof a === "number" && typeof b === "number" ? a + b : null;
}
