// The demo model's team rules through the real AI SDK: it classifies (text and structured output),
// judges candidates, delegates to member tools and ends a supervisor's loop, never repeats a call,
// and reports word counts as token usage.
import { generateObject, generateText, jsonSchema, Output, stepCountIs, streamText, tool, type ModelMessage } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createDemoModel, DEMO_NOTICE, DEMO_SHORT_NOTICE } from "../../src/chat/demo-model.ts";

const model = createDemoModel({ wordDelayMs: 0 });

const ROUTER = [
  "Classify the user's request into exactly one of these categories.",
  "categories: billing, technical, other",
  "- billing: invoices, refunds, payments",
  "- technical: errors, bugs, crashes, login",
].join("\n");

const labelSchema = jsonSchema<{ label: string; confidence: number }>({
  type: "object",
  properties: { label: { type: "string", enum: ["billing", "technical", "other"] }, confidence: { type: "number", minimum: 0, maximum: 1 } },
  required: ["label", "confidence"],
  additionalProperties: false,
});

describe("classify", () => {
  it("answers with the category whose name and description share most key words, and a confidence", async () => {
    const { text } = await generateText({ model, system: ROUTER, prompt: "I need a refund for my last invoice" });
    expect(text).toBe(`${DEMO_NOTICE} Category: billing (confidence 0.95). The text mentions "refund", "invoice", which fit billing.`);
  });

  it("gives a tie 0.5 and no match 0.1, then the category named other", async () => {
    const tie = await generateText({ model, system: ROUTER, prompt: "The login page shows my invoice twice" });
    expect(tie.text).toContain("Category: billing (confidence 0.5).");
    const none = await generateText({ model, system: ROUTER, prompt: "Tell me a joke" });
    expect(none.text).toBe(`${DEMO_NOTICE} Category: other (confidence 0.1). Nothing in the text matches a category, so it goes to other.`);
  });

  it("reads categories and the text from the user's message, after a Text: marker", async () => {
    const { text } = await generateText({ model, prompt: "Sort this request.\nlabels: sales, support\nText: the support portal crashes" });
    expect(text).toContain("Category: support (confidence 0.95).");
  });

  it("produces valid JSON for a structured output schema, its enum chosen by classification", async () => {
    const result = await generateText({ model, system: ROUTER, prompt: "The app crashes with an error", output: Output.object({ schema: labelSchema }) });
    expect(result.output).toEqual({ label: "technical", confidence: 0.95 });
    const object = await generateObject({
      model,
      prompt: "Which team? My payment failed",
      schema: z.object({ category: z.enum(["sales", "payments"]), reason: z.string(), urgent: z.boolean() }),
    });
    expect(object.object).toEqual({ category: "payments", reason: 'The text mentions "payment", which fit payments.', urgent: false });
    const choice = await generateText({ model, prompt: "my login is broken", output: Output.choice({ options: ["billing", "login"] }) });
    expect(choice.output).toBe("login");
  });

  it("streams structured output that parses", async () => {
    const result = streamText({ model: createDemoModel({ wordDelayMs: 1 }), system: ROUTER, prompt: "refund please", output: Output.object({ schema: labelSchema }) });
    expect(await result.output).toEqual({ label: "billing", confidence: 0.95 });
  });
});

describe("judge", () => {
  const question = "Which answer best explains why the sky is blue?";
  const candidates = [
    "Candidates:",
    "1. Because of the ocean.",
    "2. Rayleigh scattering: air scatters the short blue wavelengths of sunlight, so the sky looks blue.",
    "3. It just is.",
  ].join("\n");

  it("picks the candidate that covers the question best and says why in one sentence", async () => {
    const { text } = await generateText({ model, prompt: `${question}\n${candidates}` });
    expect(text).toBe(
      `${DEMO_NOTICE} Best: candidate 2. Candidate 2 covers 2 of the 5 key words of the question, more than any other.\n\n` +
        "Rayleigh scattering: air scatters the short blue wavelengths of sunlight, so the sky looks blue.",
    );
  });

  it("breaks ties by length, reads candidates from the system prompt, and fills a structured verdict", async () => {
    const tie = await generateText({ model, system: "Pick the best answer.\nCandidates:\n- short one\n- a longer one here", prompt: "Which is best?" });
    expect(tie.text).toContain("Best: candidate 2. Candidate 2 wins because no candidate shares key words with the question and it is the longest.");
    const verdict = await generateObject({ model, prompt: `${question}\n${candidates}`, schema: z.object({ best: z.number().int(), index: z.number().int(), reason: z.string() }) });
    expect(verdict.object).toEqual({ best: 2, index: 1, reason: "Candidate 2 covers 2 of the 5 key words of the question, more than any other." });
    const picked = await generateObject({ model, prompt: `${question}\n${candidates}`, schema: z.object({ answer: z.string() }) });
    expect(picked.object.answer).toContain("Rayleigh scattering");
  });
});

describe("delegate", () => {
  const calls: string[] = [];
  const members = {
    researcher: tool({
      description: "Researches a topic and returns findings",
      inputSchema: z.object({ request: z.string() }),
      execute: async ({ request }) => {
        calls.push(`researcher:${request}`);
        return "findings about quantum computing";
      },
    }),
    writer: tool({
      description: "Writes a polished reply",
      inputSchema: z.object({ request: z.string() }),
      execute: async ({ request }) => {
        calls.push(`writer:${request}`);
        return "a reply";
      },
    }),
  };

  it("delegates to the best-matching member, then answers with its result (the loop ends)", async () => {
    calls.length = 0;
    const result = await generateText({ model, tools: members, stopWhen: stepCountIs(10), prompt: "research quantum computing" });
    expect(result.steps).toHaveLength(2);
    expect(calls).toEqual(["researcher:research quantum computing"]);
    expect(result.text).toBe(`${DEMO_NOTICE} The researcher tool says: findings about quantum computing`);
  });

  it("never calls the same tool with the same input twice in a conversation", async () => {
    const history: ModelMessage[] = [
      { role: "user", content: "research quantum computing" },
      { role: "assistant", content: [{ type: "tool-call", toolCallId: "c1", toolName: "researcher", input: { request: "research quantum computing" } }] },
      { role: "tool", content: [{ type: "tool-result", toolCallId: "c1", toolName: "researcher", output: { type: "text", value: "findings" } }] },
      { role: "assistant", content: "Here are the findings." },
      { role: "user", content: "research quantum computing" },
    ];
    const again = await generateText({ model, tools: members, messages: history });
    expect(again.toolCalls).toEqual([]);
    expect(again.text).toBe(`${DEMO_SHORT_NOTICE} You said: "research quantum computing". I can call researcher, writer: ask for one by name.`);
    const required = await generateText({ model, tools: members, toolChoice: "required", messages: history });
    expect(required.toolCalls.map((call) => call.toolName)).toEqual(["writer"]);
  });
});

describe("usage", () => {
  it("counts the prompt's and the answer's words as tokens, for text, JSON and tool calls", async () => {
    const text = await generateText({ model, system: "categories: a, b", prompt: "x y" });
    expect(text.usage.inputTokens).toBe(5);
    expect(text.usage.outputTokens).toBe(text.text.split(/\s+/).length);
    const json = await generateText({ model, system: "categories: a, b", prompt: "x y", output: Output.object({ schema: jsonSchema({ type: "object", properties: { label: { type: "string", enum: ["a", "b"] } }, required: ["label"] }) }) });
    expect(json.usage).toMatchObject({ inputTokens: 5, outputTokens: 1 });
    const call = await generateText({ model, tools: { researcher: tool({ description: "Researches", inputSchema: z.object({ request: z.string() }) }) }, prompt: "researcher on bees" });
    expect(call.usage).toMatchObject({ inputTokens: 3, outputTokens: 5 }); // researcher request researcher on bees
  });
});
