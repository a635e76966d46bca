/** Usage reported by the AI SDK, in the member usage the budget counts. */
import type { LanguageModel, LanguageModelUsage } from "ai";
import { reportModelUsage } from "../agent/signals.ts";
import type { MemberUsage } from "./member.ts";

/** The model's id as the price table knows it. */
export function modelIdOf(model: LanguageModel): string {
  return typeof model === "string" ? model : model.modelId;
}

/** The usage of a model call the team made itself (members that are agents count their own), reported to metrics. */
export function modelUsage(model: LanguageModel, usage: LanguageModelUsage | undefined, toolCalls = 0): MemberUsage {
  reportModelUsage(modelIdOf(model), usage?.inputTokens, usage?.outputTokens);
  return {
    model: modelIdOf(model),
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    ...(toolCalls > 0 ? { toolCalls } : {}),
  };
}
