/**
 * Agents for the trace tests: an HTTP-facing agent that asks a sub-agent, which starts a workflow
 * whose step asks the sub-agent to think with a scripted model (no network) that calls a tool.
 */
import { generateText, jsonSchema, stepCountIs, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { Agent } from "../../../src/index.ts";
import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "../../../src/workflow/index.ts";

export const world = { thoughts: [] as string[], toolCalls: 0, failTool: false };

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
});

/** A model that asks for the weather once, then answers with what the tool said. */
export function weatherModel(): MockLanguageModelV4 {
  let calls = 0;
  return new MockLanguageModelV4({
    provider: "scripted.chat",
    modelId: "scripted-1",
    doGenerate: async (options) => {
      calls++;
      if (calls % 2 === 1) {
        return {
          content: [{ type: "tool-call", toolCallId: `call-${calls}`, toolName: "weather", input: JSON.stringify({ city: "Paris" }) }],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage: usage(12, 3),
          warnings: [],
        };
      }
      const last = options.prompt.at(-1);
      return { content: [{ type: "text", text: last?.role === "tool" ? "Sunny." : "?" }], finishReason: { unified: "stop", raw: "stop" }, usage: usage(20, 2), warnings: [] };
    },
  });
}

const weather = tool({
  inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } } }),
  execute: async ({ city }) => {
    world.toolCalls++;
    if (world.failTool) throw new Error(`no weather for ${city}`);
    return { city, sky: "clear" };
  },
});

export class Helper extends Agent {
  /** Starts the research workflow and returns its id. */
  async ask(question: string): Promise<string> {
    return this.runWorkflow("Research", { question });
  }

  async think(question: string): Promise<string> {
    const result = await generateText({ model: weatherModel(), prompt: question, tools: { weather }, stopWhen: stepCountIs(3) });
    world.thoughts.push(result.text);
    return result.text;
  }

  /** A model call the provider refuses. */
  async broken(): Promise<string> {
    const model = new MockLanguageModelV4({
      provider: "scripted.chat",
      modelId: "scripted-down",
      doGenerate: async () => {
        throw new Error("provider is down");
      },
    });
    const result = await generateText({ model, prompt: "hi", maxRetries: 0 });
    return result.text;
  }

  async fail(): Promise<never> {
    throw new RangeError("helper refused");
  }
}

export class Front extends Agent {
  async onRequest(request: Request): Promise<Response> {
    const helper = await this.subAgent(Helper, "h1");
    if (new URL(request.url).searchParams.has("fail")) await helper.fail();
    const id = await helper.ask("weather in Paris?");
    return Response.json({ id });
  }
}

export class Research extends AgentWorkflow<Helper, { question: string }> {
  async run(event: AgentWorkflowEvent<{ question: string }>, step: AgentWorkflowStep) {
    return step.do("think", () => this.agent.think(event.payload.question));
  }
}
