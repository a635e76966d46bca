/**
 * Code mode at a near-constant token cost: tokens of the tool definitions a model receives in each
 * mode, and model round trips for a scripted multi-step task, for
 *   (i)  the 100-tool benchmark API of bench/codemode-tokens.ts, and
 *   (ii) the GitHub REST API description of `@octokit/openapi` (~1,200 operations), fetched on
 *        demand into bench/.data (skipped with a message when the npm registry cannot be reached).
 *
 * Tool definitions are counted as providers receive them: one `{ name, description, input_schema }`
 * JSON object per tool, without whitespace, with js-tiktoken (o200k_base and cl100k_base).
 *   JSON tools       one tool per operation (input schemas self-contained, `$defs` included)
 *   declarations     code mode with every declaration in `execute`'s description
 *   discovery        code mode with `search` + a short `execute`
 *   auto             what createCodeTools picks by DISCOVERY_THRESHOLD_CHARS
 *
 * Round trips: the code-mode demo model (src/chat/demo-codemode.ts) carries out a task of three
 * dependent calls (find the operations, call them, combine the results) against a loopback HTTP
 * server answering those operations of the spec; each mode must produce the same answer.
 *
 * Run: node bench/codemode-discovery.ts [--no-github]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { asSchema, generateText, jsonSchema, stepCountIs, tool, type Tool } from "ai";
import { getEncoding } from "js-tiktoken";
import { CodeApi } from "../src/codemode/api.ts";
import { createCodeTools, openApiSource, type ApiSource } from "../src/codemode/index.ts";
import { createDemoCodeModel } from "../src/chat/demo-codemode.ts";
import { buildBenchmarkTools } from "./lib/codemode-api.ts";
import { GITHUB_TASK, loadGithubSpec, startGithubServer } from "./lib/codemode-github.ts";
import { startShopServer } from "../test/codemode/fixtures/shop-server.ts";

type AnyTool = Tool;
const encodings = (["o200k_base", "cl100k_base"] as const).map((name) => ({ name, encoding: getEncoding(name) }));

/** The definitions a provider receives, as one JSON text. */
function definitions(tools: Record<string, AnyTool>): string {
  return JSON.stringify(
    Object.entries(tools).map(([name, t]) => ({ name, description: t.description, input_schema: asSchema(t.inputSchema).jsonSchema })),
  );
}

/** One AI SDK tool per operation, calling the source through the same validation as code mode. */
function jsonTools(source: ApiSource): Record<string, AnyTool> {
  const api = new CodeApi([source]);
  const tools: Record<string, AnyTool> = {};
  for (const op of api.operations) {
    const description = op.operation.route === undefined ? op.operation.description : `${op.operation.route}: ${op.operation.description ?? ""}`;
    tools[op.identifier] = tool({
      description,
      inputSchema: jsonSchema(op.operation.inputSchema as Parameters<typeof jsonSchema>[0]),
      execute: async (input: unknown, execution) => api.hostFunctions(execution)[op.identifier]!(input),
    }) as unknown as AnyTool;
  }
  return tools;
}

function modes(source: ApiSource) {
  const declarations = createCodeTools({ sources: [source], mode: "declarations" });
  const discovery = createCodeTools({ sources: [source], mode: "discovery" });
  const auto = createCodeTools({ sources: [source] });
  return {
    "JSON tools": { tools: jsonTools(source), label: "JSON tools" },
    "code mode, all declarations": { tools: declarations.tools as unknown as Record<string, AnyTool>, label: "declarations" },
    "code mode, discovery": { tools: discovery.tools as unknown as Record<string, AnyTool>, label: "discovery" },
    auto: { tools: auto.tools as unknown as Record<string, AnyTool>, label: `auto (${auto.mode})` },
  };
}

const rows: string[][] = [];
const fmt = (n: number) => n.toLocaleString("en");

function measure(apiName: string, source: ApiSource): Record<string, number> {
  const all = modes(source);
  const tokens: Record<string, number> = {};
  const jsonCounts = encodings.map(({ encoding }) => encoding.encode(definitions(all["JSON tools"].tools)).length);
  for (const [mode, { tools, label }] of Object.entries(all)) {
    const text = definitions(tools);
    const counts = encodings.map(({ encoding }) => encoding.encode(text).length);
    tokens[mode] = counts[0] ?? 0;
    const saved = mode === "JSON tools" ? "" : `${((1 - (counts[0] ?? 0) / (jsonCounts[0] ?? 1)) * 100).toFixed(1)}%`;
    rows.push([apiName, label, String(Object.keys(tools).length), fmt(text.length), fmt(counts[0] ?? 0), fmt(counts[1] ?? 0), saved]);
  }
  return tokens;
}

function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const left = (i: number) => i < 2 || i === header.length - 1 && header[i] === "answer";
  const line = (cells: string[]) => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (left(i) ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of body) console.log(line(row));
}

const tripRows: string[][] = [];

async function roundTrips(apiName: string, source: ApiSource, task: string, tokens: Record<string, number>): Promise<void> {
  const answers = new Set<string>();
  for (const [mode, { tools, label }] of Object.entries(modes(source))) {
    if (mode === "auto") continue;
    const result = await generateText({ model: createDemoCodeModel({ wordDelayMs: 0 }), tools, prompt: task, stopWhen: stepCountIs(12) });
    const turns = result.steps.length;
    const calls = result.steps.reduce((n, s) => n + s.toolCalls.length, 0);
    answers.add(result.text.replace(/^\(offline demo model\)\s*/, ""));
    tripRows.push([apiName, label, String(turns), String(calls), fmt(turns * (tokens[mode] ?? 0)), result.text.replace(/^\(offline demo model\)\s*/, "")]);
  }
  if (answers.size !== 1) throw new Error(`the modes disagree on ${apiName}: ${[...answers].join(" / ")}`);
}

// (i) the 100-tool benchmark API: a source whose calls answer with their input (tokens only).
const benchmark: ApiSource = {
  operations: buildBenchmarkTools(100).map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, outputSchema: t.outputSchema })),
  call: async (name, input) => ({ name, input }),
};
measure("100-tool benchmark API", benchmark);

// The small shop API (test/codemode/fixtures) for a round trip that needs no registry.
const shopSpec = JSON.parse(readFileSync(join(import.meta.dirname, "..", "test", "codemode", "fixtures", "shop.openapi.json"), "utf8")) as object;
const shop = await startShopServer();
try {
  const source = openApiSource(shopSpec, { baseUrl: shop.baseUrl });
  const tokens = measure(`shop API (${source.operations.length} operations)`, source);
  const task = [
    "Steps:",
    '1. search items {"q":"tea"}',
    '2. get one item {"itemId":"$1.0.id"}',
    '3. category tree {"id":"c1"}',
    'Answer: {"item":"$2.name","price":"$2.price.amount","category":"$3.name"}',
  ].join("\n");
  await roundTrips("shop API", source, task, tokens);
  if (shop.requests.length !== 9) throw new Error(`the shop server answered ${shop.requests.length} requests, not 3 per mode`);
} finally {
  await shop.close();
}

// (ii) the GitHub REST API.
let githubNote: string;
if (process.argv.includes("--no-github")) {
  githubNote = "GitHub REST API: skipped (--no-github)";
} else {
  const loaded = loadGithubSpec();
  if ("skipped" in loaded) {
    githubNote = `GitHub REST API: skipped: ${loaded.skipped}`;
  } else {
    const server = await startGithubServer();
    try {
      const source = openApiSource(loaded.spec, { baseUrl: server.baseUrl, headers: { authorization: "Bearer not-a-real-token" } });
      const tokens = measure(`GitHub REST API (${source.operations.length} operations)`, source);
      await roundTrips("GitHub REST API", source, GITHUB_TASK, tokens);
      githubNote = `GitHub REST API: the loopback server answered ${server.requests.length} requests (3 per mode)`;
    } finally {
      await server.close();
    }
  }
}

console.log("Tool definitions the model receives (JSON, as providers get them):\n");
printTable(["API", "mode", "tools", "chars", "o200k_base", "cl100k_base", "fewer than JSON"], rows);
console.log("\nRound trips for a task of three dependent calls combined (code-mode demo model, loopback HTTP server):\n");
printTable(["API", "mode", "model turns", "tool calls", "definition tokens sent (o200k × turns)", "answer"], tripRows);
if (githubNote !== "") console.log(`\n${githubNote}`);
