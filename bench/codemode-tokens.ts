/**
 * Code mode, prompt size: tokens of the generated TypeScript API vs. the tools' JSON definitions,
 * for a 100-tool API.
 *
 * The API is generated deterministically (seeded PRNG): 20 resources × 5 operations (list, get,
 * create, update, delete/search/archive…), with realistic schemas: ids, formats, enums, nested
 * objects, arrays of objects, optional filters, pagination, nullable fields, records, descriptions on
 * most fields; a third of the tools declare an output schema.
 *
 * Counted with js-tiktoken, o200k_base (the GPT-4o / GPT-4.1 / o-series encoding); cl100k_base (GPT-4,
 * GPT-3.5) is printed too.
 *
 *  (a)  the declarations code mode puts in its tool description (generateDeclarations), with the
 *       output types of the tools that have an output schema;
 *  (a') the same without output schemas (exactly the information the JSON definitions carry);
 *  (b)  the tools' definitions as a model receives them: one `{ name, description, input_schema }`
 *       object per tool, JSON without whitespace (what providers put in the request); output
 *       schemas are not sent to the model in tool definitions;
 *  (c)  the whole code mode tool definition: (a) + the instruction + `{ code: string }` schema.
 *
 * Run: node bench/codemode-tokens.ts [--tools 100]
 */
import { getEncoding } from "js-tiktoken";
import { generateDeclarations } from "../src/codemode/declarations.ts";
import { buildBenchmarkTools } from "./lib/codemode-api.ts";

const toolsFlag = process.argv.indexOf("--tools");
const TOOL_COUNT = toolsFlag >= 0 ? Number(process.argv[toolsFlag + 1]) : 100;

const tools = buildBenchmarkTools(TOOL_COUNT);
const declarations = generateDeclarations(tools);
const inputOnly = generateDeclarations(tools.map(({ outputSchema: _output, ...rest }) => rest));
const json = JSON.stringify(tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })));
// The code tool's own definition (as createCodeTool builds it, instruction text included).
const instruction =
  "Run JavaScript that calls the API below. Write one async arrow function, `async () => { … }`, " +
  "that calls the `codemode` methods (they return promises; await them, combine several calls, loop, " +
  "filter) and returns the result the task needs. console.log output is returned too. No network, " +
  "no file system, no modules. A failed call rejects with an Error whose message says why.";
const codeToolDefinition = JSON.stringify({
  name: "codemode",
  description: `${instruction}\n\n\`\`\`ts\n${declarations}\n\`\`\``,
  input_schema: { type: "object", properties: { code: { type: "string", description: "Source of an async arrow function: async () => { … }" } }, required: ["code"], additionalProperties: false },
});

for (const encodingName of ["o200k_base", "cl100k_base"] as const) {
  const encoding = getEncoding(encodingName);
  const count = (text: string) => encoding.encode(text).length;
  const a = count(declarations);
  const a2 = count(inputOnly);
  const b = count(json);
  const c = count(codeToolDefinition);
  console.log(`${encodingName}: ${tools.length} tools (${tools.filter((t) => t.outputSchema !== undefined).length} with output schemas)`);
  console.log(`  (a)  TypeScript declarations, with output types   ${a.toLocaleString("en")} tokens (${declarations.length.toLocaleString("en")} chars)`);
  console.log(`  (a') TypeScript declarations, inputs only          ${a2.toLocaleString("en")} tokens (${inputOnly.length.toLocaleString("en")} chars)`);
  console.log(`  (b)  JSON tool definitions (name, description, input_schema)  ${b.toLocaleString("en")} tokens (${json.length.toLocaleString("en")} chars)`);
  console.log(`  (c)  the whole code mode tool definition           ${c.toLocaleString("en")} tokens`);
  console.log(`  ratios: a/b = ${(a / b).toFixed(2)}, a'/b = ${(a2 / b).toFixed(2)} (${Math.round((1 - a2 / b) * 100)}% fewer), c/b = ${(c / b).toFixed(2)}`);
}
if (process.argv.includes("--print")) console.log(`\n${declarations}`);
