/**
 * Tools the browser declares (`useAgentChat({ tools })`) and runs itself, as AI SDK tools without an
 * `execute`: when the model calls one, the turn ends with the call waiting, the client runs it and
 * sends `cf_agent_tool_result`, and the turn continues with the output.
 */
import { jsonSchema, tool, type ToolSet } from "ai";
import type { ClientToolSchema } from "./frames.ts";

/**
 * Turns the client's tool schemas (from `OnChatMessageOptions.clientTools`) into AI SDK tools. A
 * name declared twice keeps its last definition.
 * @example
 * async onChatMessage(onFinish, { abortSignal, clientTools }) {
 *   const tools = { ...serverTools, ...createToolsFromClientSchemas(clientTools) };
 *   return streamText({ model, messages: await convertToModelMessages(this.messages), tools, abortSignal, onFinish })
 *     .toUIMessageStreamResponse();
 * }
 */
export function createToolsFromClientSchemas(clientTools: readonly ClientToolSchema[] | undefined): ToolSet {
  const tools: ToolSet = {};
  for (const schema of clientTools ?? []) {
    tools[schema.name] = tool({
      description: schema.description ?? "",
      inputSchema: jsonSchema(schema.parameters ?? { type: "object" }),
    });
  }
  return tools;
}
