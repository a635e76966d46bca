/**
 * What is stripped from a message before it is stored (then `sanitizeMessageForPersistence` runs):
 * OpenAI's per-response ids (`itemId`, `reasoningEncryptedContent` in `providerMetadata` and
 * `callProviderMetadata`), which the provider refuses when they come back in a later request; long
 * strings in the input and output of tools the provider ran itself (code execution, text editor),
 * which the model has already read; and reasoning parts left with nothing in them.
 */
import type { UIMessage } from "ai";

type Part = UIMessage["parts"][number];

/** Longest string kept in a provider-executed tool's input or output. */
export const PROVIDER_TOOL_MAX_STRING_LENGTH = 500;

/** Provider tools whose results are sent back to the provider on later turns: kept whole. */
const REPLAYED_PROVIDER_TOOLS = new Set(["web_search", "web_fetch"]);

/** The built-in cleaning; returns the same object when nothing changed. */
export function sanitizeStoredMessage<M extends UIMessage>(message: M): M {
  let changed = false;
  const parts: Part[] = [];
  for (const part of message.parts) {
    let next = part as Record<string, unknown>;
    for (const key of ["providerMetadata", "callProviderMetadata"]) next = withoutOpenAIIds(next, key);
    next = withTruncatedProviderPayloads(next);
    if (next.type === "reasoning" && isEmptyReasoning(next)) {
      changed = true;
      continue;
    }
    if (next !== part) changed = true;
    parts.push(next as Part);
  }
  return changed ? { ...message, parts } : message;
}

function withoutOpenAIIds(part: Record<string, unknown>, key: string): Record<string, unknown> {
  const metadata = part[key];
  if (!isRecord(metadata) || !isRecord(metadata.openai)) return part;
  const { itemId: _itemId, reasoningEncryptedContent: _encrypted, ...openai } = metadata.openai;
  if (Object.keys(openai).length === Object.keys(metadata.openai).length) return part;
  const { openai: _old, ...others } = metadata;
  const next = Object.keys(openai).length > 0 ? { ...others, openai } : others;
  const { [key]: _metadata, ...rest } = part;
  return Object.keys(next).length > 0 ? { ...rest, [key]: next } : rest;
}

function withTruncatedProviderPayloads(part: Record<string, unknown>): Record<string, unknown> {
  if (part.providerExecuted !== true) return part;
  const tool = typeof part.toolName === "string" ? part.toolName : typeof part.type === "string" && part.type.startsWith("tool-") ? part.type.slice(5) : "";
  if (REPLAYED_PROVIDER_TOOLS.has(tool)) return part;
  let next = part;
  for (const key of ["input", "output"]) {
    if (part[key] === undefined) continue;
    const truncated = truncateStrings(part[key], false);
    if (truncated !== part[key]) next = { ...next, [key]: truncated };
  }
  return next;
}

/** Strings over the limit are cut with a note of their length; values under an `encrypted…` key are opaque and kept. */
function truncateStrings(value: unknown, opaque: boolean): unknown {
  if (typeof value === "string") {
    if (opaque || value.length <= PROVIDER_TOOL_MAX_STRING_LENGTH) return value;
    const note = `… [truncated, original length: ${value.length}]`;
    return value.slice(0, Math.max(0, PROVIDER_TOOL_MAX_STRING_LENGTH - note.length)) + note;
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => truncateStrings(item, opaque));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (isRecord(value)) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = truncateStrings(item, opaque || key.startsWith("encrypted"));
      if (out[key] !== item) changed = true;
    }
    return changed ? out : value;
  }
  return value;
}

/** No text, and no provider data (Anthropic's redacted thinking keeps its data there). */
function isEmptyReasoning(part: Record<string, unknown>): boolean {
  if (typeof part.text === "string" && part.text.trim() !== "") return false;
  return !(isRecord(part.providerMetadata) && Object.keys(part.providerMetadata).length > 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
