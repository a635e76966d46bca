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

/** `total` plus `usage` (validated: a count that is not a finite number ≥ 0 is a caller's mistake). */
export function addUsage(total: MemberUsage | undefined, usage: MemberUsage): MemberUsage {
  for (const key of ["inputTokens", "outputTokens", "toolCalls", "costUsd"] as const) {
    const value = usage[key];
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) throw new TypeError(`Usage ${key} must be a finite number ≥ 0 (got ${String(value)})`);
  }
  const sum = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));
  const merged: MemberUsage = { ...total };
  const model = total?.model ?? usage.model;
  if (model !== undefined) merged.model = model;
  for (const key of ["inputTokens", "outputTokens", "toolCalls", "costUsd"] as const) {
    const value = sum(total?.[key], usage[key]);
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}
