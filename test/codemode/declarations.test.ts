import { jsonSchema, tool } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { generateDeclarations, toolIdentifiers, type ToolSignature } from "../../src/codemode/declarations.ts";
import { generateToolDeclarations } from "../../src/codemode/tools.ts";

const one = (signature: Omit<ToolSignature, "name"> & { name?: string }) =>
  generateDeclarations([{ name: "t", ...signature }]);

describe("generateDeclarations", () => {
  it("nested objects, optional and required fields, doc comments and constraints", () => {
    expect(
      one({
        name: "create_order",
        description: "Create an order.\nCharges the customer's default card.",
        inputSchema: {
          type: "object",
          properties: {
            customer: {
              type: "object",
              description: "Who is buying",
              properties: {
                id: { type: "string", format: "uuid" },
                address: {
                  type: "object",
                  properties: { street: { type: "string" }, zip: { type: "string", pattern: "^[0-9]{5}$" } },
                  required: ["street"],
                },
              },
              required: ["id"],
            },
            quantity: { type: "integer", minimum: 1, maximum: 99, default: 1, description: "How many */ not a comment end" },
            note: { type: "string", maxLength: 200, deprecated: true },
          },
          required: ["customer"],
        },
        outputSchema: {
          type: "object",
          properties: { orderId: { type: "string" }, total: { type: "number", description: "In cents" } },
          required: ["orderId", "total"],
        },
      }),
    ).toMatchInlineSnapshot(`
      "interface CreateOrderInput {
        /** Who is buying */
        customer: {
          /** format uuid */
          id: string;
          address?: {
            street: string;
            /** pattern ^[0-9]{5}$ */
            zip?: string;
          };
        };
        /** How many *\\/ not a comment end; min 1, max 99, default 1 */
        quantity?: number;
        /** maxLength 200, deprecated */
        note?: string;
      }
      interface CreateOrderOutput {
        orderId: string;
        /** In cents */
        total: number;
      }
      declare const codemode: {
        /**
         * Create an order.
         * Charges the customer's default card.
         */
        create_order(input: CreateOrderInput): Promise<CreateOrderOutput>;
      };"
    `);
  });

  it("enums, const, nullable and type lists", () => {
    expect(
      one({
        name: "set_mode",
        inputSchema: {
          type: "object",
          properties: {
            mode: { type: "string", enum: ["fast", "slow", "auto"] },
            level: { enum: [1, 2, 3, null] },
            kind: { const: "fixed" },
            flag: { const: true },
            label: { type: "string", nullable: true },
            either: { type: ["string", "number", "null"] },
          },
          required: ["mode", "kind"],
        },
      }),
    ).toMatchInlineSnapshot(`
      "interface SetModeInput {
        mode: "fast" | "slow" | "auto";
        level?: 1 | 2 | 3 | null;
        kind: "fixed";
        flag?: true;
        label?: string | null;
        either?: string | number | null;
      }
      declare const codemode: {
        set_mode(input: SetModeInput): Promise<unknown>;
      };"
    `);
  });

  it("arrays, tuples and arrays of unions", () => {
    expect(
      one({
        name: "plot",
        inputSchema: {
          type: "object",
          properties: {
            points: { type: "array", items: { type: "array", prefixItems: [{ type: "number" }, { type: "number" }], items: false } },
            labels: { type: "array", items: { type: "string" }, minItems: 1 },
            mixed: { type: "array", items: { anyOf: [{ type: "string" }, { type: "integer" }] } },
            rows: { type: "array", items: { type: "object", properties: { x: { type: "number" } }, required: ["x"] } },
            anything: { type: "array" },
            legacyTuple: { type: "array", items: [{ type: "string" }, { type: "boolean" }], additionalItems: { type: "number" } },
          },
          required: ["points"],
        },
      }),
    ).toMatchInlineSnapshot(`
      "interface PlotInput {
        points: [number, number][];
        /** minItems 1 */
        labels?: string[];
        mixed?: (string | number)[];
        rows?: {
          x: number;
        }[];
        anything?: unknown[];
        legacyTuple?: [string, boolean, ...number[]];
      }
      declare const codemode: {
        plot(input: PlotInput): Promise<unknown>;
      };"
    `);
  });

  it("unions: anyOf, oneOf, allOf, and a union root", () => {
    expect(
      one({
        name: "notify",
        inputSchema: {
          oneOf: [
            { type: "object", properties: { channel: { const: "email" }, to: { type: "string", format: "email" } }, required: ["channel", "to"] },
            { type: "object", properties: { channel: { const: "sms" }, phone: { type: "string" } }, required: ["channel", "phone"] },
          ],
        },
        outputSchema: {
          allOf: [
            { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
            { type: "object", properties: { sentAt: { type: "string", format: "date-time" } } },
          ],
        },
      }),
    ).toMatchInlineSnapshot(`
      "type NotifyInput = {
        channel: "email";
        /** format email */
        to: string;
      } | {
        channel: "sms";
        phone: string;
      };
      type NotifyOutput = {
        id: string;
      } & {
        /** format date-time */
        sentAt?: string;
      };
      declare const codemode: {
        notify(input: NotifyInput): Promise<NotifyOutput>;
      };"
    `);
    expect(
      one({
        inputSchema: {
          type: "object",
          properties: { value: { anyOf: [{ type: "string" }, { type: "object", properties: { n: { type: "number" } } }, { type: "null" }] } },
        },
      }),
    ).toMatchInlineSnapshot(`
      "interface TInput {
        value?: string | {
          n?: number;
        } | null;
      }
      declare const codemode: {
        t(input?: TInput): Promise<unknown>;
      };"
    `);
  });

  it("records: additionalProperties, patternProperties, open objects", () => {
    expect(
      one({
        name: "tag",
        inputSchema: {
          type: "object",
          properties: {
            labels: { type: "object", additionalProperties: { type: "string" } },
            counts: { type: "object", patternProperties: { "^n_": { type: "integer" } }, additionalProperties: false },
            open: { type: "object" },
            closed: { type: "object", additionalProperties: false },
            withExtra: { type: "object", properties: { id: { type: "string" } }, required: ["id"], additionalProperties: { type: "number" } },
          },
        },
      }),
    ).toMatchInlineSnapshot(`
      "interface TagInput {
        labels?: Record<string, string>;
        counts?: Record<string, number>;
        open?: Record<string, unknown>;
        closed?: {};
        withExtra?: {
          id: string;
          [key: string]: number | string;
        };
      }
      declare const codemode: {
        tag(input?: TagInput): Promise<unknown>;
      };"
    `);
  });

  it("$ref / $defs / definitions, recursive and to the root", () => {
    expect(
      generateDeclarations([
        {
          name: "save_tree",
          inputSchema: {
            type: "object",
            properties: {
              root: { $ref: "#/$defs/Node" },
              owner: { $ref: "#/definitions/user" },
              parent: { $ref: "#" },
              remote: { $ref: "https://example.com/schema.json" },
            },
            required: ["root"],
            $defs: {
              Node: {
                type: "object",
                description: "A tree node",
                properties: { value: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } },
                required: ["value"],
              },
              Unused: { type: "string" },
            },
            definitions: { user: { type: "string", enum: ["alice", "bob"] } },
          },
        },
        {
          name: "other",
          inputSchema: {
            type: "object",
            properties: { n: { $ref: "#/$defs/Node" } },
            $defs: { Node: { type: "number" } },
          },
        },
      ]),
    ).toMatchInlineSnapshot(`
      "interface SaveTreeInput {
        root: Node;
        owner?: User;
        parent?: SaveTreeInput;
        remote?: unknown;
      }
      /** A tree node */
      interface Node {
        value: string;
        children?: Node[];
      }
      type User = "alice" | "bob";
      interface OtherInput {
        n?: Node2;
      }
      type Node2 = number;
      declare const codemode: {
        save_tree(input: SaveTreeInput): Promise<unknown>;
        other(input?: OtherInput): Promise<unknown>;
      };"
    `);
  });

  it("weird names: tool names become distinct identifiers, property names are quoted", () => {
    expect(
      generateDeclarations([
        { name: "get-weather", inputSchema: { type: "object", properties: { "max-temp": { type: "number" }, "1st": { type: "string" }, $ok: { type: "string" }, "quote\"d": { type: "string" } } } },
        { name: "get_weather", inputSchema: { type: "object", properties: {}, additionalProperties: false } },
        { name: "2fa.verify", inputSchema: { type: "object", properties: { code: { type: "string" } }, required: ["code"] } },
        { name: "weather", description: "", inputSchema: true },
        { name: "émoji 🙂", inputSchema: {} },
      ]),
    ).toMatchInlineSnapshot(`
      "interface GetWeather2Input {
        "max-temp"?: number;
        "1st"?: string;
        $ok?: string;
        "quote\\"d"?: string;
      }
      interface GetWeatherInput {}
      interface _2faVerifyInput {
        code: string;
      }
      type WeatherInput = unknown;
      type ÉmojiInput = unknown;
      declare const codemode: {
        get_weather_2(input?: GetWeather2Input): Promise<unknown>;
        get_weather(input?: GetWeatherInput): Promise<unknown>;
        _2fa_verify(input: _2faVerifyInput): Promise<unknown>;
        weather(input?: WeatherInput): Promise<unknown>;
        émoji_(input?: ÉmojiInput): Promise<unknown>;
      };"
    `);
  });

  it("is deterministic and identifiers do not depend on the tool set's order", () => {
    const names = ["a-b", "a_b", "a.b", "x y", "0"];
    const forward = toolIdentifiers(names);
    const backward = toolIdentifiers([...names].reverse());
    expect([...forward.entries()].sort()).toEqual([...backward.entries()].sort());
    expect(new Set(forward.values()).size).toBe(names.length);
    for (const id of forward.values()) expect(id).toMatch(/^[A-Za-z_$][A-Za-z0-9_$]*$/);
    const tools: ToolSignature[] = [
      { name: "a", inputSchema: { type: "object", properties: { x: { type: "string" } } } },
      { name: "b", inputSchema: { type: "object", properties: { y: { type: "number" } } } },
    ];
    expect(generateDeclarations(tools)).toBe(generateDeclarations(structuredClone(tools)));
  });
});

describe("generateToolDeclarations (AI SDK tools)", () => {
  it("zod 4 tools through the AI SDK", () => {
    const search = tool({
      description: "Search the catalogue.",
      inputSchema: z.object({
        query: z.string().describe("Free text"),
        limit: z.number().int().min(1).max(50).optional(),
        sort: z.enum(["relevance", "price", "newest"]).default("relevance"),
        filter: z
          .discriminatedUnion("kind", [
            z.object({ kind: z.literal("price"), max: z.number() }),
            z.object({ kind: z.literal("tag"), tags: z.array(z.string()) }),
          ])
          .optional(),
        since: z.string().nullable().describe("ISO date"),
        attributes: z.record(z.string(), z.union([z.string(), z.boolean()])),
      }),
      outputSchema: z.object({ items: z.array(z.object({ sku: z.string(), price: z.number() })), next: z.string().optional() }),
      execute: async () => ({ items: [] }),
    });
    const ping = tool({ description: "Liveness.", inputSchema: z.object({}), execute: async () => "pong" });
    expect(generateToolDeclarations({ search, ping })).toMatchInlineSnapshot(`
      "interface SearchInput {
        /** Free text */
        query: string;
        /** min 1, max 50 */
        limit?: number;
        /** default "relevance" */
        sort?: "relevance" | "price" | "newest";
        filter?: {
          kind: "price";
          max: number;
        } | {
          kind: "tag";
          tags: string[];
        };
        /** ISO date */
        since: string | null;
        attributes: Record<string, string | boolean>;
      }
      interface SearchOutput {
        items: {
          sku: string;
          price: number;
        }[];
        next?: string;
      }
      interface PingInput {}
      declare const codemode: {
        /** Search the catalogue. */
        search(input: SearchInput): Promise<SearchOutput>;
        /** Liveness. */
        ping(input?: PingInput): Promise<unknown>;
      };"
    `);
  });

  it("z.toJSONSchema output wrapped with jsonSchema(), including a recursive type", () => {
    type Category = { name: string; children: Category[] };
    const Category: z.ZodType<Category> = z.object({ name: z.string(), get children() { return z.array(Category); } });
    const input = z.object({ root: Category, dryRun: z.boolean().optional() });
    const categories = tool({
      description: "Replace the category tree.",
      inputSchema: jsonSchema(z.toJSONSchema(input) as Parameters<typeof jsonSchema>[0]),
      execute: async () => null,
    });
    expect(generateToolDeclarations({ categories })).toMatchInlineSnapshot(`
      "interface CategoriesInput {
        root: Schema0;
        dryRun?: boolean;
      }
      interface Schema0 {
        name: string;
        children: Schema0[];
      }
      declare const codemode: {
        /** Replace the category tree. */
        categories(input: CategoriesInput): Promise<unknown>;
      };"
    `);
  });
});
