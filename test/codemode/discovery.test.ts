// Discovery mode end to end through real sandboxes: search finds operations and returns their
// declarations, execute calls them; the auto switch; the limits of the catalogue functions.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonSchema, tool, type ToolExecutionOptions } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createCodeTools,
  DISCOVERY_THRESHOLD_CHARS,
  openApiSource,
  type ApiSource,
  type CodeModeTool,
  type CodeToolOutput,
} from "../../src/codemode/index.ts";
import { rank, wordsOf, type CatalogueEntry } from "../../src/codemode/discovery/catalogue.ts";
import { startShopServer, type ShopServer } from "./fixtures/shop-server.ts";

const spec = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "shop.openapi.json"), "utf8")) as object;
const execution: ToolExecutionOptions<unknown> = { toolCallId: "call-1", messages: [], context: {} };
const run = async (t: CodeModeTool | undefined, code: string) => (await t!.execute!({ code }, execution)) as CodeToolOutput;

/** A source of `count` operations that answer their own name. */
function syntheticSource(count: number): ApiSource {
  return {
    operations: Array.from({ length: count }, (_, i) => ({
      name: `op${i}`,
      description: `Operation number ${i} of a large API; it echoes its input with a long explanation of what it does.`,
      tags: [`group${i % 7}`],
      inputSchema: { type: "object", properties: { value: { type: "string", description: "Anything." } }, required: ["value"] },
    })),
    call: async (name, input) => ({ name, input }),
  };
}

/** Ranking as a scan of every entry's words (what `rank` computes through the catalogue's vocabulary). */
function scanRank(entries: readonly CatalogueEntry[], query: string, limit: number): string[] {
  const has = (words: readonly string[], word: string) =>
    words.some((known) => known === word || (word.length >= 4 && (known.startsWith(word) || (known.length >= 4 && word.startsWith(known)))));
  const words = [...new Set(wordsOf(query))];
  return entries
    .map((entry, order) => {
      const name = wordsOf(entry.name);
      const where = [...wordsOf(entry.route ?? ""), ...entry.tags.flatMap(wordsOf)];
      const text = wordsOf(entry.description);
      const score = words.reduce((sum, word) => sum + (has(name, word) ? 3 : has(where, word) ? 2 : has(text, word) ? 1 : 0), 0);
      return { name: entry.name, order, score, length: name.length };
    })
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.length - b.length || a.order - b.order)
    .slice(0, limit)
    .map((s) => s.name);
}

let shop: ShopServer;
beforeAll(async () => {
  shop = await startShopServer();
});
afterAll(async () => {
  await shop.close();
});

describe("discovery mode", () => {
  it("finds operations with search, gets their declarations, and calls them with execute", async () => {
    const { mode, tools } = createCodeTools({ sources: [openApiSource(spec, { baseUrl: shop.baseUrl })], mode: "discovery" });
    expect(mode).toBe("discovery");
    expect(Object.keys(tools)).toEqual(["search", "execute"]);
    expect(tools.execute.description).not.toContain("interface");

    const found = await run(tools.search, `async () => (await catalogue.find("list items", 3)).map((o) => o.name)`);
    expect(found).toEqual({ result: ["listItems", "createItem", "deleteItem"], logs: [] });

    const byTag = await run(tools.search, `async () => catalogue.operations.filter((o) => o.tags.includes("categories"))`);
    expect(byTag.result).toEqual([
      { name: "getCategoryTree", description: "A category with all its subcategories.", tags: ["categories"], params: "id: string", route: "GET /categories/{id}/tree" },
    ]);

    const declared = await run(tools.search, `async () => catalogue.declarations(["listItems", "getCategoryTree"])`);
    const text = String(declared.result);
    expect(text).toContain("listItems(input?: ListItemsInput): Promise<ListItemsOutput>;");
    expect(text).toContain("getCategoryTree(input: GetCategoryTreeInput): Promise<GetCategoryTreeOutput>;");
    expect(text).toContain('type Status = "draft" | "active" | "archived";');
    expect(text).not.toContain("createItem(");
    const inputsOnly = await run(tools.search, `async () => catalogue.declarations(["getCategoryTree"], { outputs: false })`);
    expect(inputsOnly.result).toBe("interface GetCategoryTreeInput {\n  id: string;\n}\ndeclare const codemode: {\n  /** GET /categories/{id}/tree: A category with all its subcategories. */\n  getCategoryTree(input: GetCategoryTreeInput): Promise<unknown>;\n};");

    const called = await run(tools.execute, `async () => {
      const items = await codemode.listItems({ status: "active" });
      const tree = await codemode.getCategoryTree({ id: "c1" });
      return { items: items.length, tree: tree.name };
    }`);
    expect(called).toEqual({ result: { items: 2, tree: "Kitchen" }, logs: [] });

    const guessed = await run(tools.execute, `async () => codemode.listProducts({})`);
    expect(guessed.error?.message).toBe("codemode.listProducts is not an operation of this API; find the operations and their names with the search tool");
    const plain = await run(tools.execute, `async () => ({ keys: Object.keys(codemode).length, has: "listItems" in codemode, json: typeof JSON.stringify(codemode) })`);
    expect(plain.result).toEqual({ keys: 12, has: true, json: "string" });
  });

  it("summarises parameters in the catalogue, optional ones marked", async () => {
    const { tools } = createCodeTools({ sources: [openApiSource(spec)], mode: "discovery" });
    const out = await run(tools.search, `async () => catalogue.operations.find((o) => o.name === "listItems").params`);
    expect(out.result).toBe('limit?: number, status?: "draft" | "active" | "archived", tag?: string[]');
  });

  it("enforces the limits of find and declarations with clear errors", async () => {
    const { tools } = createCodeTools({ sources: [syntheticSource(40)], mode: "discovery" });
    const tooMany = await run(tools.search, `async () => catalogue.declarations(catalogue.operations.slice(0, 21).map((o) => o.name))`);
    expect(tooMany.error?.message).toBe("catalogue.declarations: 21 names asked, at most MAX_DECLARATION_REQUEST (20) per call");
    const unknown = await run(tools.search, `async () => catalogue.declarations(["op1", "nope"])`);
    expect(unknown.error?.message).toBe('catalogue.declarations: no operation named "nope"; names come from catalogue.operations');
    const notList = await run(tools.search, `async () => catalogue.declarations(42)`);
    expect(notList.error?.message).toBe("catalogue.declarations(names): names must be an array of operation names");
    const bigLimit = await run(tools.search, `async () => catalogue.find("operation", 51)`);
    expect(bigLimit.error?.message).toBe("catalogue.find: limit must be an integer from 1 to MAX_FIND_RESULTS (50)");
    const noQuery = await run(tools.search, `async () => catalogue.find()`);
    expect(noQuery.error?.message).toBe("catalogue.find(query, limit?): query must be a string");
  });

  it("bounds the query of find (MAX_FIND_QUERY_CHARS, MAX_FIND_QUERY_WORDS): ranking runs on the host's thread", async () => {
    const { tools } = createCodeTools({ sources: [syntheticSource(40)], mode: "discovery" });
    const long = await run(tools.search, `async () => catalogue.find("operation ".repeat(100) + "x")`);
    expect(long.error?.message).toBe("catalogue.find: the query is 1001 characters, more than MAX_FIND_QUERY_CHARS (1000); search with a few keywords");
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");
    const many = await run(tools.search, `async () => catalogue.find(${JSON.stringify(`${words(33)} operation`)})`);
    expect(many.error?.message).toBe("catalogue.find: the query has 34 distinct words, more than MAX_FIND_QUERY_WORDS (32); search with a few keywords");
    // Repeated words count once; up to the bound, find ranks as usual.
    const fits = await run(tools.search, `async () => (await catalogue.find(${JSON.stringify(`${words(31)} operation operation operation`)}, 2)).map((o) => o.name)`);
    expect(fits).toEqual({ result: ["op0", "op1"], logs: [] });
  });

  it("ranks through the catalogue's vocabulary exactly as a scan of every entry's words does", () => {
    const entries: CatalogueEntry[] = [
      { name: "repos_listIssues", description: "List the issues of a repository.", route: "GET /repos/{owner}/{repo}/issues", tags: ["issues"], params: "" },
      { name: "issues_create", description: "Create an issue in a repository", route: "POST /repos/{owner}/{repo}/issues", tags: ["issues"], params: "" },
      { name: "repos_get", description: "Get a repository", route: "GET /repos/{owner}/{repo}", tags: ["repos"], params: "" },
      { name: "labels_removeLabel", description: "Remove a label from an issue; labelling is per repository", tags: ["labels", "issues"], params: "" },
      { name: "users_getAuthenticated", description: "The authenticated user (the owner of the token)", route: "GET /user", tags: [], params: "" },
      { name: "op", description: "", tags: ["ops"], params: "" },
    ];
    const queries = ["list issues of a repository", "repo", "repositories", "labelling label", "auth user token", "get", "op ops", "issue create repos get", "xyz", "", "Labels", "owner"];
    for (const query of queries) {
      for (const limit of [1, 3, 10]) expect(rank(entries, query, limit).map((e) => e.name), `${query} (${limit})`).toEqual(scanRank(entries, query, limit));
    }
  });

  it("cuts long catalogue descriptions and parameter summaries to 240 characters", async () => {
    const wide: ApiSource = {
      operations: [{
        name: "wide",
        description: `${"word ".repeat(100)}\n\nSecond paragraph, left out.`,
        inputSchema: { type: "object", properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, { type: "string" }])) },
      }],
      call: async () => null,
    };
    const { tools } = createCodeTools({ sources: [wide], mode: "discovery" });
    const out = await run(tools.search, `async () => catalogue.operations[0]`);
    const entry = out.result as { description: string; params: string };
    expect(entry.description).toHaveLength(240);
    expect(entry.description.endsWith("…")).toBe(true);
    expect(entry.params).toHaveLength(240);
    expect(entry.params.startsWith("field0?: string, field1?: string")).toBe(true);
  });

  it("cuts a search result to maxSearchResultChars", async () => {
    const { tools } = createCodeTools({ sources: [syntheticSource(40)], mode: "discovery", maxSearchResultChars: 500 });
    const out = await run(tools.search, `async () => catalogue.operations`);
    expect(out.truncated).toBe(true);
    expect(String(out.result)).toMatch(/… \[truncated: \d+ characters, 500 shown\]$/);
  });

  it("keeps the descriptions the same size whatever the number of operations", () => {
    const small = createCodeTools({ sources: [syntheticSource(30)], mode: "discovery" }).tools;
    const large = createCodeTools({ sources: [syntheticSource(3_000)], mode: "discovery" }).tools;
    expect(String(large.execute.description)).toBe(String(small.execute.description));
    expect(String(large.search?.description).length - String(small.search?.description).length).toBeLessThan(10);
  });

  it("refuses an API larger than MAX_CATALOGUE_OPERATIONS", () => {
    expect(() => createCodeTools({ sources: [syntheticSource(10_001)] })).toThrow(
      "codemode: the API has 10001 operations, more than MAX_CATALOGUE_OPERATIONS (10000); filter the sources (e.g. openApiSource's include option)",
    );
  });
});

describe("auto mode", () => {
  const small = {
    getWeather: tool({ description: "Weather now.", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, celsius: 21 }) }),
  };

  it("keeps all declarations for a small API and switches to discovery past DISCOVERY_THRESHOLD_CHARS", async () => {
    const few = createCodeTools({ tools: small });
    expect(few.mode).toBe("declarations");
    expect(Object.keys(few.tools)).toEqual(["execute"]);
    expect(few.tools.execute.description).toContain("getWeather(input: GetWeatherInput): Promise<unknown>;");
    expect(await run(few.tools.execute, `async () => (await codemode.getWeather({ city: "Oslo" })).celsius`)).toEqual({ result: 21, logs: [] });

    const many = createCodeTools({ sources: [syntheticSource(60)] });
    expect(many.mode).toBe("discovery");
    expect(many.declarationChars).toBeUndefined(); // the names and descriptions alone pass the threshold
    const terse: ApiSource = { ...syntheticSource(60), operations: syntheticSource(60).operations.map((op) => ({ ...op, description: undefined })) };
    const justOver = createCodeTools({ sources: [terse] });
    expect(justOver.declarationChars).toBeGreaterThan(DISCOVERY_THRESHOLD_CHARS);
    expect(justOver.mode).toBe("discovery");
    const raised = createCodeTools({ sources: [syntheticSource(60)], discoveryThresholdChars: 100_000 });
    expect(raised.mode).toBe("declarations");
    expect(createCodeTools({ tools: small, mode: "discovery" }).mode).toBe("discovery");
    expect(createCodeTools({ sources: [syntheticSource(60)], mode: "declarations" }).mode).toBe("declarations");
  });

  it("mixes AI SDK tools and other sources, and validates with the tool's own schema", async () => {
    const echo = tool({ description: "Echo.", inputSchema: jsonSchema<{ text: string }>({ type: "object", properties: { text: { type: "string" } }, required: ["text"] }), execute: async ({ text }) => text });
    const { tools } = createCodeTools({ tools: { ...small, echo }, sources: [syntheticSource(2)], mode: "discovery" });
    const names = await run(tools.search, `async () => catalogue.operations.map((o) => o.name)`);
    expect(names.result).toEqual(["getWeather", "echo", "op0", "op1"]);
    const bad = await run(tools.execute, `async () => codemode.getWeather({ city: 7 })`);
    expect(bad.error?.message).toMatch(/^codemode\.getWeather: invalid input: input\.city: /);
    const ok = await run(tools.execute, `async () => [await codemode.echo({ text: "hi" }), await codemode.op1({ value: "v" })]`);
    expect(ok.result).toEqual(["hi", { name: "op1", input: { value: "v" } }]);
  });

  it("rejects an unknown mode", () => {
    expect(() => createCodeTools({ tools: small, mode: "everything" as "auto" })).toThrow('codemode: mode must be "auto", "declarations" or "discovery", got "everything"');
  });
});
