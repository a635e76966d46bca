// The offline demo model through the real AI SDK (`streamText` / `generateText`): it streams,
// is deterministic, calls tools and answers with their results, goes through approvals, reports
// usage and stops on abort. chatModelFromEnv picks each provider from the environment without
// making a request, and falls back to the demo model.
import { generateText, stepCountIs, streamText, tool, type ModelMessage } from "ai";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  createDemoModel,
  DEMO_MODEL_ID,
  DEMO_NOTICE,
  DEMO_PROVIDER,
  DEMO_SHORT_NOTICE,
} from "../../src/chat/demo-model.ts";
import { chatModelFromEnv, describeModelChoice, OFFLINE_LABEL } from "../../src/chat/models.ts";

const model = createDemoModel({ wordDelayMs: 0 });

function demoTools(calls: string[] = []) {
  return {
    get_weather: tool({
      description: "Get the current weather for a city",
      inputSchema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
      execute: async ({ city }) => {
        calls.push(`get_weather:${city}`);
        return { city, temperature: 21 };
      },
    }),
    get_time: tool({
      description: "Current time in a timezone",
      inputSchema: z.object({ timezone: z.string() }),
      execute: async ({ timezone }) => ({ timezone, time: "12:00" }),
    }),
    add: tool({
      description: "Add two numbers",
      inputSchema: z.object({ a: z.number(), b: z.number(), note: z.string().optional() }),
      execute: async ({ a, b }) => a + b,
    }),
    delete_file: tool({
      description: "Delete a file from the workspace",
      inputSchema: z.object({ path: z.string() }),
      needsApproval: true,
      execute: async ({ path }) => {
        calls.push(`delete_file:${path}`);
        return { deleted: path };
      },
    }),
  };
}

async function firstToolCall(prompt: string) {
  const result = await generateText({ model, tools: demoTools(), prompt });
  return result.toolCalls[0];
}

describe("offline demo model", () => {
  it("is labelled as the demo model", () => {
    expect(model.provider).toBe(DEMO_PROVIDER);
    expect(model.modelId).toBe(DEMO_MODEL_ID);
    expect(model.specificationVersion).toBe("v4");
  });

  it("streams its answer word by word, opening with the offline notice", async () => {
    const result = streamText({ model, prompt: "Hello there, demo" });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    const text = await result.text;
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join("")).toBe(text);
    expect(text).toBe(`${DEMO_NOTICE} You said: "Hello there, demo".`);
  });

  it("waits between words by default", async () => {
    const started = performance.now();
    const result = streamText({ model: createDemoModel({ wordDelayMs: 10 }), prompt: "one two three" });
    await result.text;
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it("is deterministic", async () => {
    const run = async (prompt: string) => {
      const result = await generateText({ model, tools: demoTools(), prompt });
      return { text: result.text, id: result.response.id, calls: result.toolCalls };
    };
    expect(await run("Tell me a story")).toEqual(await run("Tell me a story"));
    expect(await run("What is the weather in Oslo?")).toEqual(await run("What is the weather in Oslo?"));
    expect((await run("Tell me a story")).text).not.toBe((await run("Tell me a joke")).text);
  });

  it("uses the short notice once the conversation has an answer", async () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "hi" },
      { role: "assistant", content: `${DEMO_NOTICE} You said: "hi".` },
      { role: "user", content: "again" },
    ];
    const { text } = await generateText({ model, messages });
    expect(text).toBe(`${DEMO_SHORT_NOTICE} You said: "again".`);
  });

  it("calls a tool, then answers with its result", async () => {
    const calls: string[] = [];
    const result = streamText({
      model,
      tools: demoTools(calls),
      stopWhen: stepCountIs(3),
      prompt: "What's the weather in Paris today?",
    });
    const text = await result.text;
    const steps = await result.steps;
    expect(steps).toHaveLength(2);
    expect(steps[0]?.toolCalls[0]).toMatchObject({
      toolName: "get_weather",
      input: { city: "Paris", unit: "celsius" },
    });
    expect(calls).toEqual(["get_weather:Paris"]);
    expect(text).toBe(`${DEMO_NOTICE} The get_weather tool says: {"city":"Paris","temperature":21}`);
  });

  it("picks the tool the message asks for and fills its arguments", async () => {
    expect(await firstToolCall("What time is it in Tokyo?")).toMatchObject({
      toolName: "get_time",
      input: { timezone: "Tokyo" },
    });
    expect(await firstToolCall("Please add 2 and 3")).toMatchObject({ toolName: "add", input: { a: 2, b: 3 } });
    expect(await firstToolCall("run get_time for UTC")).toMatchObject({
      toolName: "get_time",
      input: { timezone: "UTC" },
    });
    expect(await firstToolCall('delete_file "docs/old notes.md"')).toMatchObject({
      input: { path: "docs/old notes.md" },
    });
    expect(await firstToolCall("What's the weather like in New York tonight? It's cold")).toMatchObject({
      toolName: "get_weather",
      input: { city: "New York" },
    });
    expect(await firstToolCall("Could you remove the file 'draft.txt' for me")).toMatchObject({
      toolName: "delete_file",
      input: { path: "draft.txt" },
    });
    expect(await firstToolCall("Deleting files: src/old.ts please")).toMatchObject({
      toolName: "delete_file",
      input: { path: "src/old.ts" },
    });
  });

  it("echoes and lists its tools when no tool fits", async () => {
    const result = await generateText({ model, tools: demoTools(), prompt: "Good morning" });
    expect(result.toolCalls).toEqual([]);
    expect(result.text).toBe(
      `${DEMO_NOTICE} You said: "Good morning". I can call get_weather, get_time, add, delete_file: ask for one by name.`,
    );
  });

  it("follows toolChoice", async () => {
    const none = await generateText({ model, tools: demoTools(), toolChoice: "none", prompt: "weather in Rome" });
    expect(none.toolCalls).toEqual([]);
    const forced = await generateText({
      model,
      tools: demoTools(),
      toolChoice: { type: "tool", toolName: "add" },
      prompt: "hello",
    });
    expect(forced.toolCalls[0]).toMatchObject({ toolName: "add", input: { a: 1, b: 1 } });
  });

  it("asks for approval of a needsApproval tool, then runs it or reports the denial", async () => {
    const calls: string[] = [];
    const tools = demoTools(calls);
    const messages: ModelMessage[] = [{ role: "user", content: "Delete the file notes.txt" }];
    const first = streamText({ model, tools, stopWhen: stepCountIs(3), messages });
    const parts = [];
    for await (const part of first.fullStream) parts.push(part);
    const request = parts.find((part) => part.type === "tool-approval-request");
    expect(request?.toolCall).toMatchObject({ toolName: "delete_file", input: { path: "notes.txt" } });
    expect(calls).toEqual([]);

    const history = [...messages, ...(await first.response).messages];
    const answer = (approved: boolean) =>
      generateText({
        model,
        tools,
        stopWhen: stepCountIs(3),
        messages: [
          ...history,
          { role: "tool", content: [{ type: "tool-approval-response", approvalId: request!.approvalId, approved }] },
        ],
      });

    const denied = await answer(false);
    expect(calls).toEqual([]);
    expect(denied.text).toBe(`${DEMO_NOTICE} The action was not approved, so delete_file did not run.`);

    const approved = await answer(true);
    expect(calls).toEqual(["delete_file:notes.txt"]);
    expect(approved.text).toBe(`${DEMO_NOTICE} The delete_file tool says: {"deleted":"notes.txt"}`);
  });

  it("reports usage in words", async () => {
    const result = await generateText({ model, prompt: "one two three four" });
    expect(result.usage.inputTokens).toBe(4);
    expect(result.usage.outputTokens).toBe(result.text.split(" ").length);
    expect(result.finishReason).toBe("stop");

    const short = await generateText({ model, prompt: "one two three four", maxOutputTokens: 3 });
    expect(short.text).toBe("(offline demo model ");
    expect(short.finishReason).toBe("length");
  });

  it("stops streaming when aborted", async () => {
    const controller = new AbortController();
    const errors: unknown[] = [];
    const result = streamText({
      model: createDemoModel({ wordDelayMs: 5 }),
      prompt: "a b c d e f g h i j k l m n o p",
      abortSignal: controller.signal,
      onError: ({ error }) => void errors.push(error),
    });
    const deltas: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") deltas.push(part.text);
      if (deltas.length === 2) controller.abort();
    }
    expect(deltas).toHaveLength(2);

    await expect(
      generateText({ model, prompt: "hi", abortSignal: AbortSignal.abort(), maxRetries: 0 }),
    ).rejects.toThrow();
  });
});

describe("chatModelFromEnv", () => {
  const VARIABLES = ["OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CHAT_MODEL"];

  beforeEach(() => {
    for (const name of VARIABLES) vi.stubEnv(name, undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("uses an OpenAI-compatible server when OPENAI_BASE_URL is set", async () => {
    const choice = await chatModelFromEnv({
      OPENAI_BASE_URL: "http://localhost:11434/v1",
      OPENAI_API_KEY: "sk-test",
      ANTHROPIC_API_KEY: "sk-ant-test",
    });
    expect(choice.offline).toBe(false);
    expect(choice.model.provider).toBe("openai-compatible.chat");
    expect(choice.model.modelId).toBe("llama3.2");
    expect(choice.label).toBe("llama3.2 via OpenAI-compatible server at http://localhost:11434/v1 (OPENAI_BASE_URL)");

    // Credentials in the URL never reach startup output.
    const secret = await chatModelFromEnv({ OPENAI_BASE_URL: "https://user:s3cret@llm.example.com/v1" });
    expect(describeModelChoice(secret)).not.toMatch(/s3cret|user:/);
    expect(describeModelChoice(secret)).toContain("https://llm.example.com/v1");

    const named = await chatModelFromEnv({ OPENAI_BASE_URL: "http://127.0.0.1:8080/v1", CHAT_MODEL: "qwen3" });
    expect(named.model.modelId).toBe("qwen3");
  });

  it("uses OpenAI when OPENAI_API_KEY is set", async () => {
    const choice = await chatModelFromEnv({ OPENAI_API_KEY: "sk-test", ANTHROPIC_API_KEY: "sk-ant-test" });
    expect(choice.offline).toBe(false);
    expect(choice.model.provider).toMatch(/^openai\./);
    expect(choice.model.modelId).toBe("gpt-5-mini");
    expect(choice.label).toBe("gpt-5-mini via OpenAI (OPENAI_API_KEY)");
    expect(describeModelChoice(choice)).toBe("Chat model: gpt-5-mini via OpenAI (OPENAI_API_KEY)");
  });

  it("uses Anthropic when ANTHROPIC_API_KEY is set", async () => {
    const choice = await chatModelFromEnv({ ANTHROPIC_API_KEY: "sk-ant-test", CHAT_MODEL: "claude-haiku-4-5" });
    expect(choice.offline).toBe(false);
    expect(choice.model.provider).toMatch(/^anthropic\./);
    expect(choice.model.modelId).toBe("claude-haiku-4-5");
    expect(choice.label).toBe("claude-haiku-4-5 via Anthropic (ANTHROPIC_API_KEY)");
  });

  it("reads process.env when env does not set a variable, and env wins over it", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "sk-ant-from-process");
    expect((await chatModelFromEnv()).model.provider).toMatch(/^anthropic\./);
    expect((await chatModelFromEnv({ OPENAI_API_KEY: "sk-test" })).model.provider).toMatch(/^openai\./);
    expect((await chatModelFromEnv({ ANTHROPIC_API_KEY: "" })).offline).toBe(true);
  });

  it("falls back to the offline demo model", async () => {
    const choice = await chatModelFromEnv({ OPENAI_API_KEY: "  ", OTHER: 1 }, { demo: { wordDelayMs: 0 } });
    expect(choice.offline).toBe(true);
    expect(choice.label).toBe(OFFLINE_LABEL);
    expect(choice.model.provider).toBe(DEMO_PROVIDER);
    expect(describeModelChoice(choice)).toMatch(/offline demo model.*OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL/);
    const { text } = await generateText({ model: choice.model, prompt: "hi" });
    expect(text.startsWith(DEMO_NOTICE)).toBe(true);
  });
});
