// The code-mode demo model carries out a three-call task in each mode, against a real loopback
// server through real sandboxes: JSON tools take 4 model turns, all declarations 2, discovery 3.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateText, jsonSchema, stepCountIs, streamText, tool, type ToolSet } from "ai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CodeApi } from "../../src/codemode/api.ts";
import { createCodeTools, openApiSource, type ApiSource } from "../../src/codemode/index.ts";
import { createDemoCodeModel } from "../../src/chat/demo-codemode.ts";
import { startShopServer, type ShopServer } from "./fixtures/shop-server.ts";

const spec = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "shop.openapi.json"), "utf8")) as object;
const TASK = [
  "Steps:",
  '1. search items {"q":"tea"}',
  '2. get one item {"itemId":"$1.0.id"}',
  '3. category tree {"id":"c1"}',
  'Answer: {"item":"$2.name","price":"$2.price.amount","category":"$3.name"}',
].join("\n");
const ANSWER = '(offline demo model) {"item":"Teapot","price":30,"category":"Kitchen"}';

let shop: ShopServer;
let source: ApiSource;
beforeAll(async () => {
  shop = await startShopServer();
  source = openApiSource(spec, { baseUrl: shop.baseUrl });
});
afterAll(async () => {
  await shop.close();
});

async function solve(tools: ToolSet) {
  const result = await generateText({ model: createDemoCodeModel({ wordDelayMs: 0 }), tools, prompt: TASK, stopWhen: stepCountIs(10) });
  return { turns: result.steps.length, calls: result.steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)), text: result.text };
}

it("JSON tools: one call per step, then the answer (4 turns)", async () => {
  const api = new CodeApi([source]);
  const tools: ToolSet = {};
  for (const op of api.operations) {
    tools[op.identifier] = tool({
      description: op.operation.description ?? "",
      inputSchema: jsonSchema(op.operation.inputSchema as Parameters<typeof jsonSchema>[0]),
      execute: async (input: unknown, execution) => api.hostFunctions(execution)[op.identifier]!(input),
    });
  }
  expect(await solve(tools)).toEqual({ turns: 4, calls: ["search_items", "get_items_itemId", "getCategoryTree"], text: ANSWER });
});

it("all declarations: one execute call, then the answer (2 turns)", async () => {
  const { tools, mode } = createCodeTools({ sources: [source], mode: "declarations" });
  expect(mode).toBe("declarations");
  expect(await solve(tools as ToolSet)).toEqual({ turns: 2, calls: ["execute"], text: ANSWER });
});

it("discovery: search, execute, then the answer (3 turns)", async () => {
  const before = shop.requests.length;
  const { tools } = createCodeTools({ sources: [source], mode: "discovery" });
  expect(await solve(tools as ToolSet)).toEqual({ turns: 3, calls: ["search", "execute"], text: ANSWER });
  expect(shop.requests.slice(before).map((r) => r.url.split("?")[0])).toEqual(["/v1/search", "/v1/items/it_1", "/v1/categories/c1/tree"]);
});

it("streams the same plan (doStream)", async () => {
  const { tools } = createCodeTools({ sources: [source], mode: "discovery" });
  const result = streamText({ model: createDemoCodeModel({ wordDelayMs: 0 }), tools: tools as ToolSet, prompt: TASK, stopWhen: stepCountIs(10) });
  expect(await result.text).toBe(ANSWER);
  expect((await result.steps).length).toBe(3);
});

it("answers other messages as the plain demo model does", async () => {
  const { tools } = createCodeTools({ sources: [source], mode: "discovery" });
  const result = await generateText({ model: createDemoCodeModel({ wordDelayMs: 0 }), tools: tools as ToolSet, prompt: "Hello there", toolChoice: "none" });
  expect(result.text).toContain('You said: "Hello there".');
});

// bench/codemode-discovery.ts counts the tokens (593 for GitHub's 1,223 operations); here the size in characters.
it("keeps discovery's tool definitions small for an API of 5,000 operations", () => {
  const big: ApiSource = {
    operations: Array.from({ length: 5_000 }, (_, i) => ({ name: `group${i % 50}_op${i}`, description: `Operation ${i}.`, tags: [`group${i % 50}`], inputSchema: { type: "object", properties: {} } })),
    call: async () => null,
  };
  const { tools, mode } = createCodeTools({ sources: [big] });
  expect(mode).toBe("discovery");
  const definitions = JSON.stringify(Object.entries(tools).map(([name, t]) => ({ name, description: t.description, input_schema: { type: "object", properties: { code: { type: "string" } } } })));
  expect(definitions.length).toBeLessThan(3_000);
});
