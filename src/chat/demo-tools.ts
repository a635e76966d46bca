/**
 * How the offline demo model chooses a tool and fills its arguments: the tool the user's message
 * names or shares most words with, never one it already called with the same input in this
 * conversation; arguments from the tool's JSON schema, taken from the message where they can be.
 */
import type { JSONSchema7Definition, LanguageModelV4CallOptions, LanguageModelV4FunctionTool, LanguageModelV4Prompt } from "@ai-sdk/provider";
import { clipWords, keywords, lastUserText, related } from "./demo-text.ts";

/** A tool call the demo model decided on; `input` is JSON. */
export interface DemoToolCall {
  toolName: string;
  input: string;
}

export function functionTools(call: LanguageModelV4CallOptions): LanguageModelV4FunctionTool[] {
  return (call.tools ?? []).filter((tool): tool is LanguageModelV4FunctionTool => tool.type === "function");
}

/**
 * The tool call to make, if any: with `toolChoice` auto only when the last message is the user's
 * (after tool results the model answers), the best-scoring tool whose input differs from every
 * call already in the conversation.
 */
export function chooseToolCall(call: LanguageModelV4CallOptions): DemoToolCall | undefined {
  const tools = functionTools(call);
  const choice = call.toolChoice ?? { type: "auto" };
  if (tools.length === 0 || choice.type === "none") return undefined;
  const made = previousCalls(call.prompt);
  const fresh = (tool: LanguageModelV4FunctionTool): DemoToolCall | undefined => {
    const input = JSON.stringify(valueFor(tool.inputSchema, tool.name, argumentSource(call.prompt)));
    return made.has(`${tool.name}\0${input}`) ? undefined : { toolName: tool.name, input };
  };
  if (choice.type === "tool") {
    const named = tools.find((tool) => tool.name === choice.toolName);
    return named ? fresh(named) : undefined;
  }
  if (choice.type === "auto" && call.prompt.at(-1)?.role !== "user") return undefined;
  const text = lastUserText(call.prompt);
  const ranked = tools
    .map((tool, order) => ({ tool, order, score: toolScore(tool, text) }))
    .filter((entry) => entry.score > 0 || choice.type === "required")
    .sort((a, b) => b.score - a.score || a.order - b.order);
  for (const { tool } of ranked) {
    const decided = fresh(tool);
    if (decided) return decided;
  }
  return undefined;
}

/** `name\0input` of every tool call the conversation holds. */
function previousCalls(prompt: LanguageModelV4Prompt): Set<string> {
  const made = new Set<string>();
  for (const message of prompt) {
    if (message.role !== "assistant") continue;
    for (const part of message.content) {
      if (part.type === "tool-call") made.add(`${part.toolName}\0${typeof part.input === "string" ? part.input : JSON.stringify(part.input)}`);
    }
  }
  return made;
}

function toolScore(tool: LanguageModelV4FunctionTool, text: string): number {
  const lower = text.toLowerCase();
  const spaced = tool.name
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_\-.]+/g, " ")
    .toLowerCase();
  if (lower.includes(tool.name.toLowerCase()) || (spaced.includes(" ") && lower.includes(spaced))) return 100;
  const nameWords = keywords(spaced);
  const descriptionWords = keywords(tool.description ?? "");
  let score = 0;
  for (const word of keywords(text)) {
    if (nameWords.some((k) => related(word, k))) score += 3;
    else if (descriptionWords.some((k) => related(word, k))) score += 1;
  }
  return score;
}

/** Where argument values come from: the user's message and the numbers in it, in order. */
export interface ArgumentSource {
  text: string;
  numbers: number[];
  nextNumber: number;
}

export function argumentSource(prompt: LanguageModelV4Prompt): ArgumentSource {
  return sourceOf(lastUserText(prompt));
}

export function sourceOf(text: string): ArgumentSource {
  const numbers = (text.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  return { text, numbers, nextNumber: 0 };
}

/** A value valid for `schema`: defaults and constants first, then values read from the message. */
export function valueFor(schema: JSONSchema7Definition | undefined, name: string, source: ArgumentSource, depth = 0): unknown {
  if (schema === undefined || typeof schema === "boolean") return stringFor(name, source.text);
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (branch !== undefined && schema.type === undefined && depth < 8) return valueFor(branch, name, source, depth + 1);
  const type = schemaType(schema);
  switch (type) {
    case "object": {
      const value: Record<string, unknown> = {};
      if (depth >= 8) return value;
      for (const key of schema.required ?? []) value[key] = valueFor(schema.properties?.[key], key, source, depth + 1);
      return value;
    }
    case "array": {
      const item = Array.isArray(schema.items) ? schema.items[0] : schema.items;
      const count = depth < 8 ? (schema.minItems ?? 0) : 0;
      return Array.from({ length: count }, () => valueFor(item, name, source, depth + 1));
    }
    case "number":
    case "integer":
      return clampNumber(schema, source.numbers[source.nextNumber++] ?? 1);
    case "boolean":
      return false;
    case "null":
      return null;
    default: {
      const value = formatted(schema.format, source.text) ?? stringFor(name, source.text);
      return clampString(schema, value);
    }
  }
}

/** The schema's type (the first non-null one of a list; an object when it has properties). */
export function schemaType(schema: Exclude<JSONSchema7Definition, boolean>): string {
  return Array.isArray(schema.type) ? (schema.type.find((t) => t !== "null") ?? "null") : (schema.type ?? (schema.properties ? "object" : "string"));
}

export function clampNumber(schema: Exclude<JSONSchema7Definition, boolean>, value: number): number {
  let result = schemaType(schema) === "integer" ? Math.trunc(value) : value;
  if (typeof schema.minimum === "number") result = Math.max(result, schema.minimum);
  if (typeof schema.maximum === "number") result = Math.min(result, schema.maximum);
  return result;
}

export function clampString(schema: Exclude<JSONSchema7Definition, boolean>, value: string): string {
  const cut = schema.maxLength === undefined ? value : value.slice(0, schema.maxLength);
  return schema.minLength !== undefined && cut.length < schema.minLength ? cut.padEnd(schema.minLength, ".") : cut;
}

/** Strings with a `format`: found in the message, else a fixed example. */
function formatted(format: string | undefined, text: string): string | undefined {
  const date = text.match(/\d{4}-\d{2}-\d{2}/)?.[0] ?? "2000-01-01";
  if (format === "date") return date;
  if (format === "date-time") return `${date}T00:00:00Z`;
  if (format === "email") return text.match(/[\w.+-]+@[\w-]+\.[\w.-]+/)?.[0] ?? "demo@example.com";
  if (format === "uri" || format === "url") return text.match(/https?:\/\/\S+/)?.[0] ?? "https://example.com";
  return undefined;
}

/** A string argument named `name`, taken from the user's message by the rules of `createDemoModel`. */
function stringFor(name: string, text: string): string {
  const quoted = text.match(/"([^"]+)"|(?<![\p{L}\p{N}])'([^']+)'(?![\p{L}\p{N}])|`([^`]+)`|“([^”]+)”/u);
  if (quoted) return (quoted.slice(1).find((group) => group !== undefined) ?? "").trim();
  let found: string | undefined;
  if (/city|location|place|country|region|town|where|zone|area/i.test(name)) found = afterPreposition(text);
  else if (/(^|_)id$|Id$|number|code/.test(name)) found = text.match(/\b[\w-]*\d[\w-]*\b/)?.[0];
  else if (/file|path|dir/i.test(name)) found = text.match(/(?:[\w-]+\/)*[\w-]+\.[A-Za-z0-9]+|\/[\w./-]+/)?.[0];
  return found ?? afterPreposition(text) ?? clipWords(text.trim(), 40);
}

/** The phrase after "in", "for", "called"…, up to punctuation or a word like "today". */
const AFTER_PREPOSITION =
  /\b(?:in|at|for|near|from|named|called|about)\s+(.+?)(?:[?!,;]|\.(?:\s|$)|\s+(?:today|tomorrow|tonight|now|please)\b|$)/i;

function afterPreposition(text: string): string | undefined {
  const phrase = text.match(AFTER_PREPOSITION)?.[1]?.replace(/^the\s+/i, "").trim();
  return phrase ? clipWords(phrase, 4) : undefined;
}
