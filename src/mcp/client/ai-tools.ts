/**
 * MCP tools as Vercel AI SDK tools, keyed by names every model API accepts.
 *
 * Naming, as in the Agents SDK: `tool_<serverId without "-">_<toolName>`, so `{ id: "my-docs" }`
 * gives `tool_mydocs_search` on both platforms. A tool name that is not already `[A-Za-z0-9_-]` or
 * would make the key longer than 64 characters is cut to fit and gets `_` plus 8 hex digits of its
 * SHA-256, so two names of one server that clean up alike still differ. Two servers whose keys
 * would still meet (ids `a-b` and `ab`, or `a_b` with tool `c` and `a` with tool `b_c`) are told
 * apart by another hash on the later one.
 */
import { createHash } from "node:crypto";
import type { JSONSchema7, JSONValue, Tool as AiTool } from "ai";
import type { loadModules } from "./modules.ts";
import type { CallToolResult, Tool } from "./types.ts";

/** A set of AI SDK tools (`streamText({ tools })`), one per MCP tool. */
export type McpAIToolSet = Record<string, AiTool<unknown, CallToolResult>>;

/** Longest tool name the major model APIs accept. */
export const MAX_TOOL_KEY_LENGTH = 64;
const SAFE = /^[A-Za-z0-9_-]+$/;
/** The most of a server id a key carries (longer ids are cut; a clash is resolved by a hash). */
const MAX_KEY_ID_LENGTH = 32;

/**
 * The AI SDK key of a tool.
 * @example
 * toolKey("k3x9a2b1", "search");        // "tool_k3x9a2b1_search"
 * toolKey("k3x9a2b1", "files.read");    // "tool_k3x9a2b1_files_read_5f1c0b7e"
 */
export function toolKey(serverId: string, name: string, salt = 0): string {
  // Ids run to 64 characters; a key must too, with room for the tool's name.
  const prefix = `tool_${serverId.replace(/-/g, "").slice(0, MAX_KEY_ID_LENGTH)}_`;
  if (salt === 0 && SAFE.test(name) && prefix.length + name.length <= MAX_TOOL_KEY_LENGTH) return prefix + name;
  const hash = createHash("sha256").update(salt === 0 ? name : `${salt}:${name}`).digest("hex").slice(0, 8);
  const room = MAX_TOOL_KEY_LENGTH - prefix.length - hash.length - 1;
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, Math.max(0, room));
  return `${prefix}${cleaned}_${hash}`;
}

/** Calls a tool of a server; what the AI tools' `execute` runs. */
export type CallTool = (serverId: string, name: string, args: Record<string, unknown>, signal: AbortSignal | undefined) => Promise<CallToolResult>;

/**
 * Builds the tool set. A call whose result has `isError` throws its text, so the model sees a tool
 * error; other results go to the model as their text (or as JSON when they carry more than text).
 */
export function buildAITools(
  ai: Awaited<ReturnType<typeof loadModules>>["ai"],
  tools: ReadonlyArray<Tool & { serverId: string }>,
  call: CallTool,
): McpAIToolSet {
  const set: McpAIToolSet = {};
  for (const tool of tools) {
    let key = toolKey(tool.serverId, tool.name);
    for (let salt = 1; key in set; salt++) key = toolKey(tool.serverId, tool.name, salt);
    const { serverId, name } = tool;
    const title = tool.title ?? tool.annotations?.title;
    set[key] = ai.dynamicTool({
      description: describe(tool),
      ...(title === undefined ? {} : { title }),
      inputSchema: ai.jsonSchema(inputSchemaOf(tool)),
      ...(tool.outputSchema === undefined ? {} : { outputSchema: ai.jsonSchema(resultSchemaOf(tool.outputSchema)) }),
      execute: async (input, options) => {
        const args = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
        const result = await call(serverId, name, args, options.abortSignal);
        if (result.isError) throw new Error(textOf(result) || `Tool ${name} failed`);
        return result;
      },
      toModelOutput: ({ output }) => modelOutput(output as CallToolResult),
    }) as AiTool<unknown, CallToolResult>;
  }
  return set;
}

function describe(tool: Tool): string | undefined {
  return tool.description ?? tool.title ?? tool.annotations?.title;
}

/** A tool's input schema as the model sees it: always an object schema. */
function inputSchemaOf(tool: Tool): Parameters<Awaited<ReturnType<typeof loadModules>>["ai"]["jsonSchema"]>[0] {
  const schema = tool.inputSchema as Record<string, unknown> | undefined;
  const { $schema: _dialect, ...rest } = schema ?? {};
  return { ...rest, type: "object", properties: (rest.properties as Record<string, never> | undefined) ?? {} };
}

/**
 * The schema of what a tool's `execute` returns: the whole `CallToolResult`, whose
 * `structuredContent` follows the tool's `outputSchema` (the MCP rule the SDK client checks). The
 * tool's `$defs` / `definitions` move to the root, where its `#/$defs/…` references point.
 */
function resultSchemaOf(outputSchema: NonNullable<Tool["outputSchema"]>): Parameters<Awaited<ReturnType<typeof loadModules>>["ai"]["jsonSchema"]>[0] {
  const { $schema: _dialect, $defs, definitions, ...structured } = outputSchema as Record<string, unknown> & Pick<JSONSchema7, "$defs" | "definitions">;
  return {
    ...($defs === undefined ? {} : { $defs }),
    ...(definitions === undefined ? {} : { definitions }),
    type: "object",
    properties: { content: { type: "array" }, structuredContent: structured, isError: { type: "boolean" } },
    required: ["content"],
  };
}

function textOf(result: CallToolResult): string {
  return result.content
    .filter((part): part is { type: "text"; text: string } => part.type === "text")
    .map((part) => part.text)
    .join("\n");
}

function modelOutput(result: CallToolResult): { type: "text"; value: string } | { type: "json"; value: JSONValue } {
  const onlyText = result.structuredContent === undefined && result.content.every((part) => part.type === "text");
  if (onlyText) return { type: "text", value: textOf(result) };
  return { type: "json", value: JSON.parse(JSON.stringify({ content: result.content, structuredContent: result.structuredContent })) as JSONValue };
}
