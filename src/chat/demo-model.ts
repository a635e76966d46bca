/**
 * The offline demo model: a deterministic stand-in for a real language model, so chat agents and
 * their examples run on a machine with no API key. It echoes the user, calls tools chosen by simple
 * keyword rules, reports tool results back, and labels every answer as coming from the demo model.
 */
import type {
  JSONSchema7Definition,
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4FunctionTool,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4ToolResultOutput,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";

/** Provider id of the offline demo model. */
export const DEMO_PROVIDER = "hearth-demo";
/** Model id of the offline demo model. */
export const DEMO_MODEL_ID = "offline-demo";
/** Opens the first text answer of a conversation, so the demo model is never taken for a real one. */
export const DEMO_NOTICE =
  "(offline demo model — set OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL for a real one)";
/** Opens every later answer of a conversation. */
export const DEMO_SHORT_NOTICE = "(offline demo model)";

/** Options of {@link createDemoModel}. */
export interface DemoModelOptions {
  /** Milliseconds between streamed words. Default 15; 0 streams without waiting (tests). */
  wordDelayMs?: number;
}

/** What one call of the demo model produces, computed before anything is emitted. */
interface Plan {
  id: string;
  /** The answer split into words, each keeping its trailing whitespace. Empty for a tool call. */
  words: string[];
  toolCall?: { toolCallId: string; toolName: string; input: string };
  end: { finishReason: LanguageModelV4FinishReason; usage: LanguageModelV4Usage };
}

/**
 * Creates the offline demo model, an AI SDK `LanguageModelV4` (provider `hearth-demo`, model
 * `offline-demo`) that needs no network and no key. Same input, same output. Rules:
 *
 * - When tools are offered and the last message is the user's, it calls the tool the message asks
 *   for: one it names, or the one whose name (3 points a word) and description (1 point a word)
 *   share most words with the message. Arguments come from the tool's JSON schema: required
 *   strings from the message (quoted text, a place after "in"/"for"/"at", an id or file name,
 *   else the message), numbers from the numbers in the message else 1, enums take their first
 *   value, booleans `false`, defaults win.
 * - When the last message carries tool results, it answers with them
 *   (`The get_weather tool says: {...}`), or says the action was not approved after a denial.
 * - Otherwise it echoes: `You said: "…".`, listing the tools it could call.
 *
 * Every answer starts with {@link DEMO_NOTICE} (first text answer of a conversation) or
 * {@link DEMO_SHORT_NOTICE}. Text streams word by word; usage counts words, not tokens.
 *
 * @example
 * ```ts
 * import { streamText } from "ai";
 * import { createDemoModel } from "hearth/chat";
 *
 * const result = streamText({ model: createDemoModel(), prompt: "Hello there" });
 * for await (const word of result.textStream) process.stdout.write(word);
 * // (offline demo model — set OPENAI_API_KEY, …) You said: "Hello there".
 * ```
 */
export function createDemoModel(options: DemoModelOptions = {}): LanguageModelV4 {
  const wordDelayMs = Math.max(0, options.wordDelayMs ?? 15);
  return {
    specificationVersion: "v4",
    provider: DEMO_PROVIDER,
    modelId: DEMO_MODEL_ID,
    supportedUrls: {},
    async doGenerate(call) {
      call.abortSignal?.throwIfAborted();
      const plan = planReply(call);
      const content: LanguageModelV4Content[] = plan.toolCall
        ? [{ type: "tool-call", ...plan.toolCall }]
        : [{ type: "text", text: plan.words.join("") }];
      return { content, ...plan.end, warnings: [], response: { id: plan.id, modelId: DEMO_MODEL_ID } };
    },
    async doStream(call) {
      call.abortSignal?.throwIfAborted();
      const parts = streamParts(planReply(call));
      const signal = call.abortSignal;
      let index = 0;
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        async pull(controller) {
          const part = parts[index++];
          if (part === undefined) return controller.close();
          if (part.type === "text-delta") await sleep(wordDelayMs, signal);
          signal?.throwIfAborted();
          controller.enqueue(part);
        },
      });
      return { stream };
    },
  };
}

function streamParts(plan: Plan): LanguageModelV4StreamPart[] {
  const parts: LanguageModelV4StreamPart[] = [
    { type: "stream-start", warnings: [] },
    { type: "response-metadata", id: plan.id, modelId: DEMO_MODEL_ID },
  ];
  if (plan.toolCall) {
    const { toolCallId, toolName, input } = plan.toolCall;
    parts.push(
      { type: "tool-input-start", id: toolCallId, toolName },
      { type: "tool-input-delta", id: toolCallId, delta: input },
      { type: "tool-input-end", id: toolCallId },
      { type: "tool-call", toolCallId, toolName, input },
    );
  } else {
    const id = `${plan.id}-text`;
    parts.push({ type: "text-start", id });
    for (const delta of plan.words) parts.push({ type: "text-delta", id, delta });
    parts.push({ type: "text-end", id });
  }
  parts.push({ type: "finish", ...plan.end });
  return parts;
}

function planReply(call: LanguageModelV4CallOptions): Plan {
  const id = `demo-${fnv1a(JSON.stringify([call.prompt, call.tools ?? [], call.toolChoice ?? null]))}`;
  const inputWords = countWords(promptText(call.prompt));
  const tool = chooseTool(call);
  if (tool) {
    const input = JSON.stringify(valueFor(tool.inputSchema, tool.name, argumentSource(call.prompt)));
    const toolCall = { toolCallId: `${id}-call`, toolName: tool.name, input };
    const outputWords = countWords(`${tool.name} ${input.replace(/[{}[\]",:]/g, " ")}`);
    return { id, words: [], toolCall, end: ending("tool-calls", inputWords, outputWords) };
  }
  let words: string[] = answer(call).match(/\S+\s*/g) ?? [];
  const limit = call.maxOutputTokens;
  const truncated = limit !== undefined && words.length > limit;
  if (truncated) words = words.slice(0, limit);
  return { id, words, end: ending(truncated ? "length" : "stop", inputWords, words.length) };
}

function ending(unified: LanguageModelV4FinishReason["unified"], input: number, output: number): Plan["end"] {
  return {
    finishReason: { unified, raw: unified },
    usage: {
      inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: output, text: output, reasoning: 0 },
    },
  };
}

function answer(call: LanguageModelV4CallOptions): string {
  const { prompt } = call;
  const answeredBefore = prompt.some(
    (message) => message.role === "assistant" && message.content.some((part) => part.type === "text"),
  );
  const notice = answeredBefore ? DEMO_SHORT_NOTICE : DEMO_NOTICE;
  const last = prompt.at(-1);
  if (last?.role === "tool") {
    const results = last.content.flatMap((part) =>
      part.type === "tool-result" ? [describeResult(part.toolName, part.output)] : [],
    );
    if (results.length > 0) return `${notice} ${results.join(" ")}`;
  }
  const said = lastUserText(prompt);
  let body = said ? `You said: "${clipWords(said, 60)}".` : "Say something and I will echo it.";
  const names = functionTools(call).map((tool) => tool.name);
  if (names.length > 0 && last?.role === "user") {
    body += ` I can call ${names.join(", ")}: ask for one by name.`;
  }
  return `${notice} ${body}`;
}

function describeResult(toolName: string, output: LanguageModelV4ToolResultOutput): string {
  const denied = (reason?: string) =>
    `The action was not approved${reason ? ` (${reason})` : ""}, so ${toolName} did not run.`;
  switch (output.type) {
    case "text":
      return `The ${toolName} tool says: ${output.value}`;
    case "json":
      return `The ${toolName} tool says: ${JSON.stringify(output.value)}`;
    case "execution-denied":
      return denied(output.reason);
    case "error-text":
      return /denied|not approved/i.test(output.value) ? denied() : `The ${toolName} tool failed: ${output.value}`;
    case "error-json":
      return `The ${toolName} tool failed: ${JSON.stringify(output.value)}`;
    case "content": {
      const text = output.value.map((part) =>
        part.type === "text" ? part.text : part.type === "file" ? `[${part.mediaType} file]` : "[content]",
      );
      return `The ${toolName} tool says: ${text.join(" ")}`;
    }
  }
}

const STOP_WORDS = new Set(
  (
    "the and for with from this that these those what which who whom when where why how are was were " +
    "been being can could would should will shall may might must you your yours our ours they them their its " +
    "not but any all some get gets set use uses used using tool tools function call calls return returns given " +
    "please about into onto have has had does did done just like also then than there here out now today tell " +
    "show give want need let make know one two value values input output result results current specified " +
    "provided optional string number something thing things"
  ).split(" "),
);

function functionTools(call: LanguageModelV4CallOptions): LanguageModelV4FunctionTool[] {
  return (call.tools ?? []).filter((tool): tool is LanguageModelV4FunctionTool => tool.type === "function");
}

function chooseTool(call: LanguageModelV4CallOptions): LanguageModelV4FunctionTool | undefined {
  const tools = functionTools(call);
  const choice = call.toolChoice ?? { type: "auto" };
  if (tools.length === 0 || choice.type === "none") return undefined;
  if (choice.type === "tool") return tools.find((tool) => tool.name === choice.toolName);
  const text = lastUserText(call.prompt);
  let best: LanguageModelV4FunctionTool | undefined;
  let bestScore = 0;
  for (const tool of tools) {
    const score = toolScore(tool, text);
    if (score > bestScore) [best, bestScore] = [tool, score];
  }
  if (choice.type === "required") return best ?? tools[0];
  return call.prompt.at(-1)?.role === "user" ? best : undefined;
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

function keywords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((word) => word.length >= 3 && !STOP_WORDS.has(word)))];
}

/** Same word, or one a prefix of the other ("delete" / "deleted"), for words of 4+ letters. */
function related(a: string, b: string): boolean {
  return a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));
}

interface ArgumentSource {
  text: string;
  numbers: number[];
  nextNumber: number;
}

function argumentSource(prompt: LanguageModelV4Prompt): ArgumentSource {
  const text = lastUserText(prompt);
  const numbers = (text.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  return { text, numbers, nextNumber: 0 };
}

function valueFor(schema: JSONSchema7Definition | undefined, name: string, source: ArgumentSource, depth = 0): unknown {
  if (schema === undefined || typeof schema === "boolean") return stringFor(name, source.text);
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (branch !== undefined && schema.type === undefined && depth < 8) return valueFor(branch, name, source, depth + 1);
  const type = Array.isArray(schema.type)
    ? (schema.type.find((t) => t !== "null") ?? "null")
    : (schema.type ?? (schema.properties ? "object" : "string"));
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
    case "integer": {
      let value = source.numbers[source.nextNumber++] ?? 1;
      if (type === "integer") value = Math.trunc(value);
      if (typeof schema.minimum === "number") value = Math.max(value, schema.minimum);
      if (typeof schema.maximum === "number") value = Math.min(value, schema.maximum);
      return value;
    }
    case "boolean":
      return false;
    case "null":
      return null;
    default: {
      const value = formatted(schema.format, source.text) ?? stringFor(name, source.text);
      return schema.maxLength === undefined ? value : value.slice(0, schema.maxLength);
    }
  }
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

/** A string argument named `name`, taken from the user's message by the rules of {@link createDemoModel}. */
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

function lastUserText(prompt: LanguageModelV4Prompt): string {
  const message = prompt.findLast((candidate) => candidate.role === "user");
  if (message?.role !== "user") return "";
  return message.content
    .map((part) => (part.type === "text" ? part.text : `[${part.filename ?? part.mediaType} file]`))
    .join(" ")
    .trim();
}

function promptText(prompt: LanguageModelV4Prompt): string {
  return prompt
    .map((message) => {
      if (message.role === "system") return message.content;
      return message.content
        .map((part) => {
          if (part.type === "text" || part.type === "reasoning") return part.text;
          if (part.type === "tool-call") return `${part.toolName} ${JSON.stringify(part.input)}`;
          if (part.type === "tool-result") return `${part.toolName} ${JSON.stringify(part.output)}`;
          return "";
        })
        .join(" ");
    })
    .join(" ");
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function clipWords(text: string, max: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  return words.length > max ? `${words.slice(0, max).join(" ")}…` : words.join(" ");
}

/** 32-bit FNV-1a, hex: a short deterministic id derived from the request. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
