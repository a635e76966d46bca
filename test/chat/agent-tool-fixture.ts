/**
 * Agents for the agent-tool tests: a parent chat agent whose model may call `research` (a child
 * chat agent run with `agentTool`), the child, and a plain agent that is no chat agent.
 */
import { convertToModelMessages, stepCountIs, streamText, tool, type LanguageModel, type UIMessage } from "ai";
import { z } from "zod";
import {
  AIChatAgent,
  agentTool,
  type AgentToolRunInfo,
  type ChatFinishCallback,
  type ClearAgentToolRunsOptions,
  type OnChatMessageOptions,
  type RunAgentToolResult,
} from "../../src/chat/index.ts";
import { Agent, getCurrentAgent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { scriptedModel, textStream } from "./helpers.ts";

export const tools: {
  parentModel: LanguageModel;
  childModel: LanguageModel;
  started: AgentToolRunInfo[];
  finished: Array<{ run: AgentToolRunInfo; result: RunAgentToolResult }>;
} = { parentModel: scriptedModel(textStream("hi")), childModel: scriptedModel(textStream("hi")), started: [], finished: [] };

export function resetTools(parentModel: LanguageModel, childModel: LanguageModel): void {
  Object.assign(tools, { parentModel, childModel, started: [], finished: [] });
}

export class Researcher extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    return streamText({
      model: tools.childModel,
      messages: await convertToModelMessages(this.messages),
      abortSignal: options.abortSignal,
      onFinish,
      onError: () => {},
    }).toUIMessageStreamResponse();
  }

  protected override formatAgentToolInput(input: unknown, request: { runId: string }): UIMessage {
    const query = (input as { query?: string }).query ?? JSON.stringify(input);
    return { id: `agent-tool-${request.runId}-input`, role: "user", parts: [{ type: "text", text: `Research: ${query}` }] };
  }

  history(): UIMessage[] {
    return this.messages;
  }

  clearChat(): void {
    this.clearMessages();
  }
}

/** A child whose output is structured. */
export class Extractor extends Researcher {
  protected override getAgentToolOutput(request: { runId: string; input: unknown }, after: readonly UIMessage[]): unknown {
    return { runId: request.runId, messages: after.length };
  }
}

export class Notes extends Agent {
  ping(): string {
    return "pong";
  }
}

export class Parent extends AIChatAgent {
  async onChatMessage(onFinish: ChatFinishCallback, options: OnChatMessageOptions) {
    const research = agentTool(Researcher, {
      description: "Research one topic in depth.",
      displayName: "Researcher",
      inputSchema: z.object({ query: z.string() }),
    });
    return streamText({
      model: tools.parentModel,
      messages: await convertToModelMessages(this.messages),
      tools: {
        research,
        whoami: tool({
          description: "Names the agent and tells whether a client asked.",
          inputSchema: z.object({}),
          execute: async () => {
            const { agent, connection } = getCurrentAgent<Parent>();
            return { name: agent?.name ?? null, client: connection !== undefined };
          },
        }),
      },
      stopWhen: stepCountIs(5),
      abortSignal: options.abortSignal,
      onFinish,
      onError: () => {},
    }).toUIMessageStreamResponse();
  }

  onAgentToolStart(run: AgentToolRunInfo) {
    tools.started.push(run);
  }

  onAgentToolFinish(run: AgentToolRunInfo, result: RunAgentToolResult) {
    tools.finished.push({ run, result });
  }

  async research(query: string, runId?: string, child = "Researcher"): Promise<RunAgentToolResult> {
    return this.runAgentTool(child, { input: { query }, ...(runId ? { runId } : {}) });
  }

  async runWith(cls: string, options: Record<string, unknown>): Promise<RunAgentToolResult> {
    return this.runAgentTool(cls, options as { input: unknown });
  }

  async cancel(runId: string): Promise<void> {
    await this.cancelAgentTool(runId, "stop it");
  }

  async clear(options?: ClearAgentToolRunsOptions): Promise<void> {
    await this.clearAgentToolRuns(options);
  }

  has(agentType: string, runId: string): boolean {
    return this.hasAgentToolRun(agentType, runId);
  }

  runs(): Array<Record<string, unknown>> {
    if (this.sql`SELECT 1 FROM sqlite_master WHERE name = 'hearth_agent_tool_runs'`.length === 0) return [];
    return [...this.sql<Record<string, unknown>>`SELECT run_id, agent_type, status, summary, error_message, interrupted_reason FROM hearth_agent_tool_runs ORDER BY started_at, rowid`];
  }

  children(): string[] {
    return this.listSubAgents().map((child) => `${child.className}/${child.name}`);
  }

  async inspectChild(runId: string, child = "Researcher") {
    return (await this.subAgent(child, runId) as unknown as Researcher).inspectAgentToolRun(runId);
  }

  async childChunks(runId: string) {
    return (await this.subAgent("Researcher", runId) as unknown as Researcher).getAgentToolChunks(runId);
  }

  async childHistory(runId: string): Promise<UIMessage[]> {
    return (await this.subAgent("Researcher", runId) as unknown as Researcher).history();
  }

  history(): UIMessage[] {
    return this.messages;
  }
}

export class CappedParent extends Parent {
  maxConcurrentAgentTools = 0;
}

export class ReplayCappedParent extends Parent {
  static options = { agentToolReplayOnConnect: { maxRuns: 1, maxChunksPerRun: 2 } };
}

export class BadReplayParent extends Parent {
  static options = { agentToolReplayOnConnect: { maxRuns: -1 } };
}

const ALL_AGENTS = { Parent, CappedParent, ReplayCappedParent, BadReplayParent, Researcher, Extractor, Notes };

export async function toolsEnv(dataDir?: string, agents: Partial<typeof ALL_AGENTS> = ALL_AGENTS): Promise<{ t: TestEnv; ws: string }> {
  const t = await createTestEnv({
    agents,
    time: "system",
    ...(dataDir ? { dataDir } : {}),
  });
  return { t, ws: (await t.url()).replace(/^http/, "ws") };
}
