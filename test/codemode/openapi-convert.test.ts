// An OpenAPI document as code-mode operations: names, parameters, bodies, refs, cycles, enums.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCodeTools, openApiOperations, openApiSource, validateJsonSchema } from "../../src/codemode/index.ts";

const spec = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "shop.openapi.json"), "utf8")) as Record<string, unknown>;
const byName = (name: string) => {
  const op = openApiOperations(spec).find((o) => o.name === name);
  if (op === undefined) throw new Error(`no ${name}`);
  return op;
};

describe("openApiOperations", () => {
  it("names operations by operationId, else by method and path, in document order", () => {
    expect(openApiOperations(spec).map((o) => `${o.name} ${o.route}`)).toEqual([
      "listItems GET /items",
      "createItem POST /items",
      "get_items_itemId GET /items/{itemId}",
      "deleteItem DELETE /items/{itemId}",
      "getCategoryTree GET /categories/{id}/tree",
      "search-items GET /search",
      "exportItems GET /export",
      "whoAmI GET /whoami",
      "getMoved GET /moved",
      "streamItems GET /stream",
      "slowReport GET /slow",
      "getPage GET /{page}",
    ]);
  });

  it("puts path, query and header parameters and the body into one input object", () => {
    const get = byName("get_items_itemId");
    expect(get.inputSchema).toMatchObject({
      type: "object",
      properties: { itemId: { type: "string", pattern: "^it_[0-9]+$", description: "Id of the item." }, "X-Request-Id": { type: "string" } },
      required: ["itemId"],
      additionalProperties: false,
    });
    expect(get.http.fields).toEqual([
      { key: "itemId", name: "itemId", in: "path", style: undefined, explode: undefined },
      { key: "X-Request-Id", name: "X-Request-Id", in: "header", style: undefined, explode: undefined },
    ]);
    const create = byName("createItem");
    expect(create.http.body).toEqual({ key: "body", mediaType: "application/json" });
    expect(create.inputSchema).toMatchObject({ properties: { body: { $ref: "#/$defs/NewItem" } }, required: ["body"] });
    expect(create.tags).toEqual(["items"]);
    expect(byName("listItems").description).toBe("List items of the shop.\n\nNewest first.");
  });

  it("resolves $refs into self-contained $defs and keeps cycles as refs", () => {
    const tree = byName("getCategoryTree");
    expect(tree.outputSchema).toEqual({
      $ref: "#/$defs/Category",
      $defs: {
        Category: {
          type: "object",
          properties: {
            id: { type: "string" },
            name: { type: "string" },
            parent: { $ref: "#/$defs/Category" },
            children: { type: "array", items: { $ref: "#/$defs/Category" } },
          },
          required: ["id", "name"],
        },
      },
    });
    const item = byName("createItem").outputSchema as { $defs: Record<string, unknown> };
    expect(Object.keys(item.$defs)).toEqual(["Category", "Item", "NewItem", "Price", "Status"]);
  });

  it("turns OpenAPI 3.0's boolean exclusiveMinimum into a number", () => {
    expect(byName("search-items").inputSchema).toMatchObject({ properties: { "min-price": { type: "number", exclusiveMinimum: 0 } } });
    expect(validateJsonSchema(byName("search-items").inputSchema, { q: "tea", "min-price": 0 })).toEqual(["input.min-price: not greater than 0"]);
  });

  it("declares one shared type per component, enums as unions, quoted keys and identifiers for odd names", () => {
    const { tools, mode } = createCodeTools({ sources: [openApiSource(spec)], mode: "declarations" });
    expect(mode).toBe("declarations");
    const text = String(tools.execute.description);
    expect(text).toContain('type Status = "draft" | "active" | "archived";');
    expect(text.match(/interface Category \{/g)).toHaveLength(1);
    expect(text).toContain("parent?: Category;");
    expect(text).toContain("children?: Category[];");
    expect(text).toContain('"X-Request-Id"?: string;');
    expect(text).toContain("search_items(input: SearchItemsInput): Promise<SearchItemsOutput>;");
    expect(text).toContain("get_items_itemId(input: GetItemsItemIdInput): Promise<GetItemsItemIdOutput>;");
    expect(text).toContain("GET /items: List items of the shop.");
    expect(text).toContain("note?: string | null;");
  });

  it("validates inputs against the bundled schema (refs, enums, required, unknown keys)", () => {
    const schema = byName("createItem").inputSchema;
    expect(validateJsonSchema(schema, { body: { name: "Pot", price: { amount: 3, currency: "EUR" } } })).toEqual([]);
    expect(validateJsonSchema(schema, { body: { name: "Pot", price: { amount: 3, currency: "GBP" } }, extra: 1 })).toEqual([
      'input.body.price.currency: expected one of "EUR", "USD"',
      "input.extra: unknown property",
    ]);
  });

  it("reads OpenAPI 3.1 type lists and refuses other versions with a clear error", () => {
    const v31 = {
      openapi: "3.1.0",
      paths: { "/n": { post: { requestBody: { content: { "application/json": { schema: { type: ["string", "null"] } } } }, responses: {} } } },
    };
    const [op] = openApiOperations(v31);
    expect(op?.name).toBe("post_n");
    expect(op?.inputSchema).toMatchObject({ properties: { body: { type: ["string", "null"] } }, required: [] });
    expect(() => openApiOperations({ swagger: "2.0", paths: {} })).toThrow('openApiSource needs an OpenAPI 3.0 or 3.1 document; its "openapi" field is null');
  });

  it("keeps only the operations `include` accepts", () => {
    const src = openApiSource(spec, { include: (op) => op.tags?.includes("categories") ?? false });
    expect(src.operations.map((o) => o.name)).toEqual(["getCategoryTree"]);
  });
});
