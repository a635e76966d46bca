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
import { generateDeclarations, type JsonSchema, type ToolSignature } from "../src/codemode/declarations.ts";
import { mulberry32 } from "./lib/common.ts";

const toolsFlag = process.argv.indexOf("--tools");
const TOOL_COUNT = toolsFlag >= 0 ? Number(process.argv[toolsFlag + 1]) : 100;

const prng = mulberry32;
const random = prng(20_240_611);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const chance = (p: number): boolean => random() < p;

const RESOURCES = [
  ["customer", "a customer account"], ["invoice", "an invoice"], ["order", "a sales order"], ["product", "a catalogue product"],
  ["ticket", "a support ticket"], ["project", "a project"], ["task", "a task in a project"], ["user", "a workspace user"],
  ["team", "a team of users"], ["repository", "a source repository"], ["deployment", "a deployment of a service"],
  ["incident", "an operational incident"], ["calendar_event", "a calendar event"], ["document", "a stored document"],
  ["payment", "a payment"], ["subscription", "a billing subscription"], ["warehouse", "a warehouse"],
  ["shipment", "a shipment"], ["campaign", "a marketing campaign"], ["webhook", "a webhook endpoint"],
] as const;

const STATUS = ["draft", "active", "pending", "suspended", "archived", "closed", "failed", "open", "resolved"];
const FIELD_POOL: Array<[string, () => Record<string, unknown>]> = [
  ["name", () => ({ type: "string", description: "Display name", maxLength: 200 })],
  ["email", () => ({ type: "string", format: "email", description: "Contact e-mail address" })],
  ["phone", () => ({ type: ["string", "null"], description: "Phone number in E.164 format" })],
  ["amount", () => ({ type: "number", minimum: 0, description: "Amount in the smallest currency unit" })],
  ["currency", () => ({ type: "string", enum: ["USD", "EUR", "GBP", "JPY", "CHF"], description: "ISO 4217 currency code" })],
  ["priority", () => ({ type: "string", enum: ["low", "normal", "high", "urgent"] })],
  ["tags", () => ({ type: "array", items: { type: "string" }, description: "Free-form labels", maxItems: 20 })],
  ["dueDate", () => ({ type: "string", format: "date", description: "Due date (YYYY-MM-DD)" })],
  ["notes", () => ({ type: "string", description: "Internal notes, not shown to the customer" })],
  ["quantity", () => ({ type: "integer", minimum: 1, maximum: 10_000 })],
  ["metadata", () => ({ type: "object", additionalProperties: { type: "string" }, description: "Arbitrary key/value pairs" })],
  ["address", () => ({
    type: "object",
    description: "Postal address",
    properties: {
      line1: { type: "string" }, line2: { type: "string" }, city: { type: "string" },
      postalCode: { type: "string" }, country: { type: "string", description: "ISO 3166-1 alpha-2 country code", minLength: 2, maxLength: 2 },
    },
    required: ["line1", "city", "country"],
  })],
  ["items", () => ({
    type: "array",
    description: "Line items",
    items: {
      type: "object",
      properties: { sku: { type: "string", description: "Product SKU" }, quantity: { type: "integer", minimum: 1 }, unitPrice: { type: "number" } },
      required: ["sku", "quantity"],
    },
    minItems: 1,
  })],
  ["assigneeId", () => ({ type: "string", description: "Id of the user the record is assigned to" })],
  ["visibility", () => ({ type: "string", enum: ["private", "internal", "public"], default: "private" })],
  ["schedule", () => ({
    description: "When it runs",
    anyOf: [
      { type: "object", properties: { kind: { const: "once" }, at: { type: "string", format: "date-time" } }, required: ["kind", "at"] },
      { type: "object", properties: { kind: { const: "cron" }, expression: { type: "string" }, timezone: { type: "string" } }, required: ["kind", "expression"] },
    ],
  })],
  ["enabled", () => ({ type: "boolean", description: "Whether it is active", default: true })],
  ["url", () => ({ type: "string", format: "uri", description: "Absolute https URL" })],
];

function fieldsFor(resource: string): Array<[string, Record<string, unknown>]> {
  const count = 3 + Math.floor(random() * 5);
  const chosen = new Map<string, Record<string, unknown>>();
  while (chosen.size < count) {
    const [key, make] = pick(FIELD_POOL);
    chosen.set(key, make());
  }
  chosen.set("status", { type: "string", enum: [...new Set([pick(STATUS), pick(STATUS), pick(STATUS), "active"])], description: `Lifecycle status of the ${resource}` });
  return [...chosen.entries()];
}

function objectSchema(props: Array<[string, Record<string, unknown>]>, required: string[]): Record<string, unknown> {
  return { type: "object", properties: Object.fromEntries(props), required, additionalProperties: false };
}

function buildTools(count: number): ToolSignature[] {
  const tools: ToolSignature[] = [];
  const ops = ["list", "get", "create", "update", "remove", "search", "archive"] as const;
  for (let i = 0; tools.length < count; i++) {
    const [resource, noun] = RESOURCES[i % RESOURCES.length] as (typeof RESOURCES)[number];
    const round = Math.floor(i / RESOURCES.length);
    const op = ops[round % ops.length] as (typeof ops)[number];
    const fields = fieldsFor(resource);
    const idField: [string, Record<string, unknown>] = [`${camel(resource)}Id`, { type: "string", description: `Id of ${noun}`, pattern: "^[a-z]{3}_[A-Za-z0-9]{16}$" }];
    const record = objectSchema([["id", { type: "string" }], ...fields, ["createdAt", { type: "string", format: "date-time" }]], ["id", "status", "createdAt"]);
    let input: Record<string, unknown>;
    let description: string;
    switch (op) {
      case "list":
        description = `List ${plural(resource)}, newest first. Results are paginated: pass the returned cursor to get the next page.`;
        input = objectSchema([
          ["status", (fields.find(([k]) => k === "status") as [string, Record<string, unknown>])[1]],
          ["createdAfter", { type: "string", format: "date-time", description: "Only records created after this instant" }],
          ["limit", { type: "integer", minimum: 1, maximum: 100, default: 20, description: "Page size" }],
          ["cursor", { type: "string", description: "Cursor from a previous page" }],
        ], []);
        break;
      case "get":
        description = `Get ${noun} by id. Fails with not_found when it does not exist.`;
        input = objectSchema([idField, ["expand", { type: "array", items: { type: "string", enum: ["owner", "history", "attachments"] }, description: "Related objects to include" }]], [idField[0]]);
        break;
      case "create": {
        description = `Create ${noun}. Returns the new record with its id.`;
        const required = fields.filter(() => chance(0.5)).map(([k]) => k);
        input = objectSchema(fields, required.length > 0 ? required : [fields[0]?.[0] ?? "status"]);
        break;
      }
      case "update":
        description = `Update ${noun}. Only the given fields change; pass null to clear a nullable field.`;
        input = objectSchema([idField, ["patch", objectSchema(fields, [])]], [idField[0], "patch"]);
        break;
      case "remove":
        description = `Delete ${noun} permanently. This cannot be undone.`;
        input = objectSchema([idField, ["reason", { type: "string", description: "Why it is deleted (kept in the audit log)" }]], [idField[0]]);
        break;
      case "search":
        description = `Full-text search over ${plural(resource)}, with optional structured filters.`;
        input = objectSchema([
          ["query", { type: "string", description: "Search terms; supports quoted phrases and -exclusions" }],
          ["filters", { type: "array", items: objectSchema([["field", { type: "string", enum: fields.map(([k]) => k) }], ["op", { type: "string", enum: ["eq", "neq", "lt", "gt", "in"] }], ["value", { anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }, { type: "array", items: { type: "string" } }] }]], ["field", "op", "value"]) }],
          ["sort", { type: "string", enum: ["relevance", "created", "updated"], default: "relevance" }],
          ["limit", { type: "integer", minimum: 1, maximum: 50 }],
        ], ["query"]);
        break;
      default:
        description = `Archive ${noun}: hidden from lists, kept for reporting, restorable for 30 days.`;
        input = objectSchema([idField], [idField[0]]);
    }
    const output: JsonSchema | undefined = chance(0.33)
      ? op === "list" || op === "search"
        ? objectSchema([["data", { type: "array", items: record }], ["nextCursor", { type: ["string", "null"] }]], ["data", "nextCursor"])
        : record
      : undefined;
    tools.push({ name: `${op}_${resource}`, description, inputSchema: input, outputSchema: output });
  }
  return tools;
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
function plural(resource: string): string {
  return `${resource.replace(/_/g, " ")}s`;
}

const tools = buildTools(TOOL_COUNT);
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
