/**
 * The 100-tool benchmark API of bench/codemode-tokens.ts, generated deterministically (seeded PRNG):
 * 20 resources × 5 operations (list, get, create, update, delete/search/archive…), with realistic
 * schemas: ids, formats, enums, nested objects, arrays of objects, optional filters, pagination,
 * nullable fields, records, descriptions on most fields; a third of the tools declare an output schema.
 */
import type { JsonSchema, ToolSignature } from "../../src/codemode/declarations.ts";
import { mulberry32 } from "./common.ts";

let random = mulberry32(20_240_611);
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


/**
 * The benchmark API's tools (the same every call: the generator is reseeded).
 *
 * @example
 * ```ts
 * const tools = buildBenchmarkTools(100); // list_customer, list_invoice, …
 * ```
 */
export function buildBenchmarkTools(count = 100): ToolSignature[] {
  random = mulberry32(20_240_611);
  return buildTools(count);
}
