/**
 * `agentTool(Child, options)`: an AI SDK tool whose call runs a child chat agent through the
 * current agent's `runAgentTool` (Cloudflare's `agents/agent-tools` export, same options).
 */
import { tool, type FlexibleSchema, type Tool, type ToolExecutionOptions } from "ai";
import { getCurrentAgent } from "../agent/context.ts";
import type { SubAgentClass } from "../sub-agents/sub-agent-agent.ts";
import type { AgentToolDisplayMetadata, AgentToolFailure, RunAgentToolOptions, RunAgentToolResult } from "./agent-tool-types.ts";

/** Options of {@link agentTool}. */
export interface AgentToolFactoryOptions<Input = unknown, Output = unknown> {
  /** What the parent model reads to decide when to call the child. */
  description: string;
  /** The input the model must produce (a Zod schema, `jsonSchema(…)`, or any AI SDK schema). */
  inputSchema: FlexibleSchema<Input>;
  /** Parses the child's structured output; without it the tool returns the child's summary text. */
  outputSchema?: { parse(value: unknown): Output };
  /** The name UIs show for the run. */
  displayName?: string;
  icon?: string;
  display?: AgentToolDisplayMetadata;
}

interface AgentToolRunner {
  runAgentTool(cls: SubAgentClass | string, options: RunAgentToolOptions): Promise<RunAgentToolResult>;
}

function currentRunner(): AgentToolRunner {
  const { agent } = getCurrentAgent<Partial<AgentToolRunner>>();
  if (typeof agent?.runAgentTool !== "function") {
    throw new Error("agentTool() can only run inside a chat agent's turn: give it to streamText in onChatMessage of an AIChatAgent subclass.");
  }
  return agent as AgentToolRunner;
}

function failure(status: AgentToolFailure["status"], error: string, retryable: boolean, extra: Pick<AgentToolFailure, "reason" | "childStillRunning"> = {}): AgentToolFailure {
  return {
    ok: false,
    status,
    error,
    retryable,
    ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
    ...(extra.childStillRunning !== undefined ? { childStillRunning: extra.childStillRunning } : {}),
  };
}

/**
 * An AI SDK tool that runs the chat agent `cls` as a child of the current agent's turn: the call's
 * run id is `agent-tool:<toolCallId>` (a re-run of the same call re-attaches instead of starting
 * again), the child's stream reaches this agent's clients as `agent-tool-event` frames, cancelling
 * the turn cancels the child, and the model gets the child's summary (or `outputSchema`'s parse of
 * its output). A run that does not complete returns an {@link AgentToolFailure}.
 * @example
 * import { convertToModelMessages, stepCountIs, streamText } from "ai";
 * import { z } from "zod";
 * import { AIChatAgent, agentTool } from "hearth/chat";
 *
 * export class Assistant extends AIChatAgent<Env> {
 *   async onChatMessage(onFinish, { abortSignal }) {
 *     return streamText({
 *       model, messages: await convertToModelMessages(this.messages), abortSignal, onFinish, stopWhen: stepCountIs(5),
 *       tools: {
 *         research: agentTool(Researcher, {
 *           description: "Research one topic in depth.",
 *           displayName: "Researcher",
 *           inputSchema: z.object({ query: z.string().min(3) }),
 *         }),
 *       },
 *     }).toUIMessageStreamResponse();
 *   }
 * }
 */
export function agentTool<Input = unknown, Output = unknown>(
  cls: SubAgentClass | string,
  options: AgentToolFactoryOptions<Input, Output>,
): Tool<Input, string | Output | AgentToolFailure> {
  if (typeof options !== "object" || options === null) throw new TypeError("agentTool: pass { description, inputSchema } as the second argument");
  if (typeof options.description !== "string" || options.description.length === 0) throw new TypeError("agentTool: options.description must be a non-empty string");
  if (options.inputSchema === undefined) throw new TypeError("agentTool: options.inputSchema is required (the input the model must produce)");
  const display: AgentToolDisplayMetadata | undefined =
    options.displayName || options.icon || options.display
      ? { ...options.display, ...(options.displayName ? { name: options.displayName } : {}), ...(options.icon ? { icon: options.icon } : {}) }
      : undefined;
  // The SDK's overloads cannot resolve a generic output type (its conditional types need a concrete one).
  const createTool = tool as unknown as <I, O>(config: {
    description: string;
    inputSchema: FlexibleSchema<I>;
    execute: (input: I, options: ToolExecutionOptions<Record<string, unknown>>) => Promise<O>;
  }) => Tool<I, O>;
  return createTool<Input, string | Output | AgentToolFailure>({
    description: options.description,
    inputSchema: options.inputSchema,
    execute: async (input, { toolCallId, abortSignal }) => {
      const result = await currentRunner().runAgentTool(cls, {
        input,
        // Stable per tool call: a turn re-run by recovery re-attaches to the same child run.
        ...(toolCallId ? { runId: `agent-tool:${toolCallId}`, parentToolCallId: toolCallId } : {}),
        ...(abortSignal ? { signal: abortSignal } : {}),
        ...(display ? { display } : {}),
      });
      switch (result.status) {
        case "completed":
          if (!options.outputSchema) return result.summary ?? "";
          if (result.output === undefined) return failure("error", "agent tool completed without structured output required by outputSchema", false);
          return options.outputSchema.parse(result.output);
        case "aborted":
          return failure("aborted", result.error ?? "agent tool run was cancelled", false);
        case "interrupted":
          return failure("interrupted", result.error ?? "agent tool run was interrupted before it finished; it can be retried", true, {
            ...(result.reason !== undefined ? { reason: result.reason } : {}),
            ...(result.childStillRunning !== undefined ? { childStillRunning: result.childStillRunning } : {}),
          });
        default:
          return failure("error", result.error ?? "agent tool run failed", false);
      }
    },
  });
}
