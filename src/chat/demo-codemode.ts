/**
 * The offline demo model, extended to write code-mode code deterministically: given a scripted
 * multi-step task (see demo-codemode-task.ts), it carries it out with whatever tools it is offered —
 * one JSON tool call per step, one `execute` call when the declarations are in its description, or
 * a `search` call then an `execute` call in discovery mode — then answers with the combined result.
 * Anything else goes to the plain demo model.
 */
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FunctionTool,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4ToolResultOutput,
} from "@ai-sdk/provider";
import {
  chooseOperation,
  declaredMethods,
  executeCode,
  parseCodeTask,
  resolveReferences,
  searchCode,
  type DemoCodeTask,
} from "./demo-codemode-task.ts";
import { createDemoModel, DEMO_MODEL_ID, DEMO_PROVIDER, DEMO_SHORT_NOTICE, type DemoModelOptions } from "./demo-model.ts";
import { countWords, fnv1a, lastUserText, promptText } from "./demo-text.ts";

/** A tool result as the model reads it: the tool's name and its value (JSON parsed when it is text). */
interface SeenResult {
  toolName: string;
  value: unknown;
  failed: boolean;
}

type Decision = { toolName: string; input: string } | { text: string };

/**
 * Creates the code-mode demo model (provider `hearth-demo`, model `offline-demo`). For a message
 * holding a `Steps:` list and an `Answer:` line it plans by the tools offered:
 *
 * - `search` + `execute` (discovery): search code finding each step's operation and its
 *   declarations, then execute code calling them in order, then the answer — 3 model turns;
 * - `execute` whose description declares `codemode` (all declarations): execute code, then the
 *   answer — 2 turns;
 * - one tool per operation (JSON tools): one call per step, each input resolved from earlier
 *   results, then the answer — steps + 1 turns.
 *
 * The answer is `(offline demo model) {…}`: the `Answer:` object with its references resolved.
 *
 * @example
 * ```ts
 * import { generateText, stepCountIs } from "ai";
 * const prompt = 'Steps:\n1. list items {"status":"active"}\nAnswer: {"count":"$1.length"}';
 * const { steps, text } = await generateText({ model: createDemoCodeModel(), tools, prompt, stopWhen: stepCountIs(10) });
 * ```
 */
export function createDemoCodeModel(options: DemoModelOptions = {}): LanguageModelV4 {
  const fallback = createDemoModel(options);
  return {
    specificationVersion: "v4",
    provider: DEMO_PROVIDER,
    modelId: DEMO_MODEL_ID,
    supportedUrls: {},
    async doGenerate(call) {
      const decided = decide(call);
      if (decided === undefined) return fallback.doGenerate(call);
      const { id, content, end } = reply(call, decided);
      return { content, ...end, warnings: [], response: { id, modelId: DEMO_MODEL_ID } };
    },
    async doStream(call) {
      const decided = decide(call);
      if (decided === undefined) return fallback.doStream(call);
      const { id, content, end } = reply(call, decided);
      const parts: LanguageModelV4StreamPart[] = [{ type: "stream-start", warnings: [] }, { type: "response-metadata", id, modelId: DEMO_MODEL_ID }];
      for (const part of content) {
        if (part.type === "tool-call") parts.push(part);
        else if (part.type === "text") parts.push({ type: "text-start", id: `${id}-text` }, { type: "text-delta", id: `${id}-text`, delta: part.text }, { type: "text-end", id: `${id}-text` });
      }
      parts.push({ type: "finish", ...end });
      return { stream: new ReadableStream({ start: (controller) => { for (const p of parts) controller.enqueue(p); controller.close(); } }) };
    },
  };
}

function reply(call: LanguageModelV4CallOptions, decided: Decision) {
  const id = `demo-${fnv1a(JSON.stringify([call.prompt, call.tools ?? []]))}`;
  const content: LanguageModelV4Content[] = "text" in decided
    ? [{ type: "text", text: decided.text }]
    : [{ type: "tool-call", toolCallId: `${id}-call`, toolName: decided.toolName, input: decided.input }];
  const input = countWords(promptText(call.prompt));
  const output = countWords("text" in decided ? decided.text : decided.input);
  const unified = "text" in decided ? "stop" : "tool-calls";
  const end = {
    finishReason: { unified, raw: unified } as const,
    usage: { inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: output, text: output, reasoning: 0 } },
  };
  return { id, content, end };
}

/** What to do next, or undefined when the message is not a code task (the plain demo model answers). */
function decide(call: LanguageModelV4CallOptions): Decision | undefined {
  const task = parseCodeTask(lastUserText(call.prompt));
  const tools = (call.tools ?? []).filter((t): t is LanguageModelV4FunctionTool => t.type === "function");
  if (task === undefined || tools.length === 0) return undefined;
  const results = seenResults(call.prompt);
  const failure = results.find((r) => r.failed);
  if (failure !== undefined) return { text: `${DEMO_SHORT_NOTICE} The ${failure.toolName} tool failed: ${JSON.stringify(failure.value)}` };
  const byName = new Map(tools.map((t) => [t.name, t]));
  const execute = byName.get("execute");
  if (byName.has("search") && execute !== undefined) return discovery(task, results);
  if (execute !== undefined && (execute.description ?? "").includes("declare const codemode")) {
    if (results.length > 0) return answer(results.at(-1)?.value);
    const methods = declaredMethods(execute.description ?? "");
    const names = task.steps.map((step) => chooseOperation(step.query, methods)?.name ?? "");
    return code("execute", executeCode(task, names));
  }
  if (results.length >= task.steps.length) return answer(resolveReferences(task.answer, results.map((r) => r.value)));
  const step = task.steps[results.length];
  const chosen = step === undefined ? undefined : chooseOperation(step.query, tools.map((t) => ({ name: t.name, description: t.description ?? "" })));
  if (step === undefined || chosen === undefined) return { text: `${DEMO_SHORT_NOTICE} No tool matches "${step?.query ?? ""}".` };
  return { toolName: chosen.name, input: JSON.stringify(resolveReferences(step.input, results.map((r) => r.value))) };
}

function discovery(task: DemoCodeTask, results: readonly SeenResult[]): Decision {
  if (results.length === 0) return code("search", searchCode(task));
  if (results.length === 1) {
    return code("execute", executeCode(task, foundNames(results[0]?.value)));
  }
  return answer(results.at(-1)?.value);
}

/**
 * The operation names the search code returned (`{ names, declarations }`), also from a result the
 * tool cut to its bound (then a JSON text that starts with the names).
 */
function foundNames(value: unknown): string[] {
  const result = (value as { result?: unknown } | undefined)?.result;
  if (typeof result === "object" && result !== null && Array.isArray((result as { names?: unknown }).names)) {
    return (result as { names: unknown[] }).names.map(String);
  }
  const listed = typeof result === "string" ? /"names":(\[[^\]]*\])/.exec(result)?.[1] : undefined;
  try {
    return listed === undefined ? [] : (JSON.parse(listed) as unknown[]).map(String);
  } catch {
    return [];
  }
}

function code(toolName: string, source: string): Decision {
  return { toolName, input: JSON.stringify({ code: source }) };
}

/** The answer: a code tool's `result` (or error), or the resolved answer object. */
function answer(value: unknown): Decision {
  const shaped = value as { result?: unknown; error?: { message?: string } } | undefined;
  if (shaped?.error !== undefined) return { text: `${DEMO_SHORT_NOTICE} The code failed: ${shaped.error.message ?? "unknown error"}` };
  const combined = shaped !== null && typeof shaped === "object" && "result" in shaped ? shaped.result : value;
  return { text: `${DEMO_SHORT_NOTICE} ${JSON.stringify(combined)}` };
}

/** The tool results of the conversation, in order. */
function seenResults(prompt: LanguageModelV4Prompt): SeenResult[] {
  const out: SeenResult[] = [];
  for (const message of prompt) {
    if (message.role !== "tool") continue;
    for (const part of message.content) {
      if (part.type === "tool-result") out.push({ toolName: part.toolName, ...valueOf(part.output) });
    }
  }
  return out;
}

function valueOf(output: LanguageModelV4ToolResultOutput): { value: unknown; failed: boolean } {
  switch (output.type) {
    case "json":
      return { value: output.value, failed: false };
    case "text":
      return { value: parseMaybe(output.value), failed: false };
    case "error-text":
      return { value: output.value, failed: true };
    case "error-json":
      return { value: output.value, failed: true };
    default:
      return { value: output.type, failed: output.type === "execution-denied" };
  }
}

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
