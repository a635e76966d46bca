import { Agent, callable, routeAgentRequest } from "hearth";
import { createGateway, generateText, stepCountIs, type LanguageModel } from "ai";
import { Dice } from "./dice.ts";

export { Dice };

type Env = { AI_GATEWAY_API_KEY?: string; AI_MODEL?: string };

/**
 * One assistant per name (`/agents/assistant/<name>`). It mounts remote MCP servers by URL; they
 * stay mounted (and reconnect by themselves) across hibernation and restarts, and their tools are
 * handed to a model as AI SDK tools.
 */
export class Assistant extends Agent<Env> {
  /** POST {"name","url"} mounts a server; GET shows the mounted servers and their tools. */
  async onRequest(request: Request): Promise<Response> {
    if (request.method === "POST") {
      const { name, url } = (await request.json()) as { name: string; url: string };
      // { state: "ready" }, or { state: "authenticating", authUrl } for a server that wants OAuth:
      // open authUrl in a browser; the agent answers the redirect back and the server becomes ready.
      return Response.json(await this.addMcpServer(name, url));
    }
    return Response.json(this.getMcpServers());
  }

  @callable() async mount(name: string, url: string) {
    return this.addMcpServer(name, url);
  }

  /** The tools as the model sees them: `tool_<serverId>_<name>`. */
  @callable() tools() {
    return Object.entries(this.mcp.getAITools()).map(([name, tool]) => ({
      name,
      description: typeof tool.description === "string" ? tool.description : undefined,
    }));
  }

  /** Runs one of those tools, exactly as the model's tool call would. */
  @callable() async use(tool: string, input: Record<string, unknown>) {
    const found = this.mcp.getAITools()[tool];
    if (!found?.execute) throw new Error(`No tool ${tool}; see tools()`);
    return found.execute(input, { toolCallId: crypto.randomUUID(), messages: [], context: {} });
  }

  /** Answers with the help of every mounted server's tools. */
  @callable() async ask(question: string) {
    const { text, steps } = await generateText({
      model: this.model(),
      tools: this.mcp.getAITools(),
      stopWhen: stepCountIs(5),
      prompt: question,
    });
    return { text, toolCalls: steps.flatMap((step) => step.toolCalls.map((call) => call.toolName)) };
  }

  /** The model behind `ask`: the AI Gateway, with AI_GATEWAY_API_KEY (and optionally AI_MODEL) in .dev.vars. */
  protected model(): LanguageModel {
    if (!this.env.AI_GATEWAY_API_KEY) throw new Error("ask() needs a model: set AI_GATEWAY_API_KEY (and optionally AI_MODEL) in .dev.vars");
    return createGateway({ apiKey: this.env.AI_GATEWAY_API_KEY })(this.env.AI_MODEL ?? "openai/gpt-5-mini");
  }
}

const dice = Dice.serve("/mcp");

export default {
  fetch: async (request: Request, env: Env) => {
    if (new URL(request.url).pathname === "/mcp") return dice.fetch(request, env);
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
