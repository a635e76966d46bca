/**
 * Picks a chat model from the environment: an OpenAI-compatible server, OpenAI, Anthropic, or the
 * offline demo model when no key is set. Provider SDKs are imported only when chosen.
 */
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { createDemoModel, type DemoModelOptions } from "./demo-model.ts";

/** The model {@link chatModelFromEnv} chose, with a label for startup output. */
export interface ChatModelChoice {
  /** An AI SDK language model, usable wherever `ai` takes a `LanguageModel`. */
  readonly model: LanguageModelV4;
  /** What was chosen, e.g. `gpt-5-mini via OpenAI (OPENAI_API_KEY)`. */
  readonly label: string;
  /** True for the built-in offline demo model, which is not a real language model. */
  readonly offline: boolean;
}

/** Options of {@link chatModelFromEnv}. */
export interface ChatModelFromEnvOptions {
  /** Options for the offline demo model, when it is the one chosen. */
  demo?: DemoModelOptions;
}

/** Model ids used when `CHAT_MODEL` is not set. */
export const DEFAULT_CHAT_MODELS = {
  openaiCompatible: "llama3.2",
  openai: "gpt-5-mini",
  anthropic: "claude-sonnet-4-5",
} as const;

/** Label of the offline demo model. */
export const OFFLINE_LABEL = "offline demo model (no API key set)";

/**
 * Chooses a chat model from environment variables, first match wins:
 *
 * 1. `OPENAI_BASE_URL`: an OpenAI-compatible server (Ollama, llama.cpp server, vLLM…), with
 *    `OPENAI_API_KEY` as its key when set; model `CHAT_MODEL`, default `llama3.2`.
 * 2. `OPENAI_API_KEY`: OpenAI; model `CHAT_MODEL`, default `gpt-5-mini`.
 * 3. `ANTHROPIC_API_KEY`: Anthropic; model `CHAT_MODEL`, default `claude-sonnet-4-5`.
 * 4. Otherwise the offline demo model ({@link createDemoModel}), with `offline: true`.
 *
 * Each variable is read from `env` first, then from `process.env`. A variable present in `env`
 * wins even when empty, so `{ OPENAI_API_KEY: "" }` turns a key in `process.env` off; empty and
 * non-string values count as unset. No request is made here.
 *
 * @example
 * ```ts
 * import { streamText } from "ai";
 * import { chatModelFromEnv, describeModelChoice } from "hearth/chat";
 *
 * const choice = await chatModelFromEnv();
 * console.log(describeModelChoice(choice));
 * const result = streamText({ model: choice.model, prompt: "Hello" });
 * ```
 */
export async function chatModelFromEnv(
  env: Record<string, unknown> = {},
  options: ChatModelFromEnvOptions = {},
): Promise<ChatModelChoice> {
  const read = (name: string): string | undefined => {
    const value = Object.hasOwn(env, name) && env[name] !== undefined ? env[name] : process.env[name];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const chatModel = read("CHAT_MODEL");
  const baseURL = read("OPENAI_BASE_URL");
  const openaiKey = read("OPENAI_API_KEY");
  const anthropicKey = read("ANTHROPIC_API_KEY");

  if (baseURL !== undefined) {
    const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
    const modelId = chatModel ?? DEFAULT_CHAT_MODELS.openaiCompatible;
    const provider = createOpenAICompatible({
      name: "openai-compatible",
      baseURL,
      ...(openaiKey !== undefined ? { apiKey: openaiKey } : {}),
    });
    return {
      model: provider.chatModel(modelId),
      label: `${modelId} via OpenAI-compatible server at ${withoutCredentials(baseURL)} (OPENAI_BASE_URL)`,
      offline: false,
    };
  }
  if (openaiKey !== undefined) {
    const { createOpenAI } = await import("@ai-sdk/openai");
    const modelId = chatModel ?? DEFAULT_CHAT_MODELS.openai;
    // The base URL is explicit so an OPENAI_BASE_URL turned off through `env` stays off.
    const provider = createOpenAI({ apiKey: openaiKey, baseURL: "https://api.openai.com/v1" });
    return { model: provider(modelId), label: `${modelId} via OpenAI (OPENAI_API_KEY)`, offline: false };
  }
  if (anthropicKey !== undefined) {
    const { createAnthropic } = await import("@ai-sdk/anthropic");
    const modelId = chatModel ?? DEFAULT_CHAT_MODELS.anthropic;
    const provider = createAnthropic({ apiKey: anthropicKey });
    return { model: provider(modelId), label: `${modelId} via Anthropic (ANTHROPIC_API_KEY)`, offline: false };
  }
  return { model: createDemoModel(options.demo), label: OFFLINE_LABEL, offline: true };
}

/**
 * One line for startup output naming the chosen model; for the demo model it also says how to
 * use a real one.
 *
 * @example
 * ```ts
 * console.log(describeModelChoice(await chatModelFromEnv()));
 * // Chat model: offline demo model (no API key set). Its answers are canned: set …
 * ```
 */
export function describeModelChoice(choice: ChatModelChoice): string {
  if (!choice.offline) return `Chat model: ${withoutCredentials(choice.label)}`;
  return (
    `Chat model: ${choice.label}. Its answers are canned: set OPENAI_API_KEY, ANTHROPIC_API_KEY ` +
    "or OPENAI_BASE_URL (with CHAT_MODEL) for a real model."
  );
}

/** Text with the `user:password@` of any URL in it removed, for output. */
function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, "$1");
}
