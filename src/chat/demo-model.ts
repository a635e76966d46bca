/**
 * The offline demo model: a deterministic stand-in for a real language model, so chat agents,
 * teams and their examples run on a machine with no API key. It echoes the user, calls tools
 * (agents and team members too) chosen by keyword rules, reports tool results back, classifies,
 * judges candidates, answers structured output with valid JSON, and labels every text answer as
 * coming from the demo model.
 */
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4ToolResultOutput,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { classifyTask, objectAnswer, readTask } from "./demo-object.ts";
import { clipWords, countWords, fnv1a, lastUserText, promptText } from "./demo-text.ts";
import { chooseToolCall, functionTools } from "./demo-tools.ts";

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
 * - **Delegate.** When tools are offered and the last message is the user's, it calls the tool
 *   the message asks for: one it names, or the one whose name (3 points a word) and description
 *   (1 point a word) share most words with the message — never one it already called with the
 *   same input in the conversation (the next best instead, or none). Arguments come from the
 *   tool's JSON schema: required strings from the message (quoted text, a place after
 *   "in"/"for"/"at", an id or file name, else the message), numbers from the numbers in the
 *   message else 1, enums take their first value, booleans `false`, defaults win.
 * - When the last message carries tool results, it answers with them (a supervisor's loop ends):
 *   `The get_weather tool says: {...}`, or that the action was not approved after a denial.
 * - **Judge.** A `Candidates:` line (system prompt or the user's message) followed by 2+ items
 *   (`1.`, `2)`, `[3]`, `Candidate 4:`, `-`): the candidate sharing most key words with the
 *   question (the text before the list) wins, then the longest, then the first —
 *   `Best: candidate 2. <one sentence why>` and the candidate's text.
 * - **Classify.** A `categories: a, b, c` line (also `labels:`), each category optionally
 *   described by a `- a: …` line: the user's message goes to the category whose name (3 points a
 *   word) and description (1 point) share most key words with it — `Category: a (confidence
 *   0.95). <why>`. Confidence 0.95 for a clear win, 0.5 for a tie, 0.1 with no match (then the
 *   category named other/general/default/unknown, else the first).
 * - **Structured output** (`responseFormat` JSON, as `generateObject` and `Output.object` ask):
 *   a JSON value valid for the schema; an enum is chosen by the classification rule, fields
 *   named like confidence, reason, label/category, best/winner/index and answer/text are filled
 *   by meaning, the rest as tool arguments are. Never cut by `maxOutputTokens`.
 * - Otherwise it echoes: `You said: "…".`, listing the tools it could call.
 *
 * Every text answer starts with {@link DEMO_NOTICE} (first text answer of a conversation) or
 * {@link DEMO_SHORT_NOTICE}. Text streams word by word. Usage is token-like: input tokens are
 * the words of the whole prompt, output tokens the words of the answer (of a tool call: its name
 * and argument words), so budgets can be tested exactly.
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
  const format = call.responseFormat;
  const id = `demo-${fnv1a(JSON.stringify([call.prompt, call.tools ?? [], call.toolChoice ?? null, format ?? null]))}`;
  const inputWords = countWords(promptText(call.prompt));
  const decided = chooseToolCall(call);
  if (decided) {
    const toolCall = { toolCallId: `${id}-call`, ...decided };
    const outputWords = countWords(`${decided.toolName} ${decided.input.replace(/[{}[\]",:]/g, " ")}`);
    return { id, words: [], toolCall, end: ending("tool-calls", inputWords, outputWords) };
  }
  // Structured output must parse: it is never cut short by maxOutputTokens.
  const json = format?.type === "json";
  let words: string[] = (json ? objectAnswer(readTask(call.prompt), format.schema) : answer(call)).match(/\S+\s*/g) ?? [];
  const limit = call.maxOutputTokens;
  const truncated = !json && limit !== undefined && words.length > limit;
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
  const task = readTask(prompt);
  if (task.judgement) {
    const { best, reason } = task.judgement;
    return `${notice} Best: candidate ${best.number}. ${reason}\n\n${best.text}`;
  }
  const classification = classifyTask(task);
  if (classification) return `${notice} Category: ${classification.label} (confidence ${classification.confidence}). ${classification.reason}`;
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
