/**
 * AI SDK tools as an API source: each exposed tool is an operation (tools that need approval,
 * provider tools and tools without `execute` are left out, as in `createCodeTool`).
 */
import { exposedTools, type CodeModeTools } from "./tools.ts";
import { isAsyncIterable, issuesOf, lastOf } from "./output.ts";
import type { ApiOperation, ApiSource } from "./source.ts";

/**
 * An API source over AI SDK tools (zod, Standard Schema or JSON Schema inputs); each call's input is
 * checked by the tool's own schema, and a streaming tool resolves to its last value.
 *
 * @example
 * ```ts
 * import { createCodeTools, toolSource } from "hearth/codemode";
 * const { tools } = createCodeTools({ sources: [toolSource({ getWeather, searchFlights })] });
 * ```
 */
export function toolSource(tools: CodeModeTools): ApiSource {
  const exposed = exposedTools(tools);
  const byName = new Map(exposed.map((t) => [t.name, t]));
  const operations: ApiOperation[] = exposed.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputJson,
    outputSchema: t.outputJson,
    validate: t.input.validate === undefined
      ? undefined
      : async (input: unknown) => {
          const result = await t.input.validate!(input);
          return result.success ? { ok: true, value: result.value } : { ok: false, problems: issuesOf(result.error) };
        },
  }));
  return {
    operations,
    async call(name, input, context) {
      const t = byName.get(name);
      const execute = t?.tool.execute;
      if (t === undefined || execute === undefined) throw new Error(`${name} cannot be executed`);
      const output: unknown = await execute(input, {
        toolCallId: context.toolCallId,
        messages: context.execution.messages,
        abortSignal: context.abortSignal,
        context: context.execution.context,
      });
      return isAsyncIterable(output) ? await lastOf(output) : output;
    },
  };
}
