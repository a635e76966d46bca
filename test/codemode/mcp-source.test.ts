// A mounted MCP server's tools as a code-mode API source: catalogue, declarations, calls through a
// real sandbox to a real MCP server (Streamable HTTP on loopback).
import { afterEach, beforeEach, expect, it } from "vitest";
import { z } from "zod";
import { Agent, callable } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { createCodeTools, mcpSource, type CodeToolOutput } from "../../src/codemode/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { registerDefaults, startRemoteServer, type RemoteServer } from "../mcp/fixtures/remote-server.ts";

const execution = { toolCallId: "1", messages: [], context: {} };

/** A Hearth MCP server (an McpAgent), mounted by the coder through its agent binding. */
class Inventory extends McpAgent {
  server = new McpServer({ name: "inventory", version: "1.0.0" });
  init() {
    this.server.registerTool("stock", { description: "Units in stock of a product", inputSchema: z.object({ sku: z.string() }) }, ({ sku }) => ({
      content: [{ type: "text", text: String(sku.length * 10) }],
    }));
  }
}

type Env = { Inventory: AgentNamespace<Inventory> };

class Coder extends Agent<Env> {
  @callable() async mountInventory() {
    return this.addMcpServer("inventory", this.env.Inventory, { id: "inventory" });
  }
  @callable() async mount(url: string) {
    return this.addMcpServer("calc", url, { id: "calc" });
  }
  @callable() async search(code: string): Promise<CodeToolOutput> {
    const { tools } = createCodeTools({ sources: [mcpSource(this.mcp)], mode: "discovery" });
    return (await tools.search!.execute!({ code }, execution)) as CodeToolOutput;
  }
  @callable() async run(code: string, serverId: string | string[] = "calc"): Promise<CodeToolOutput> {
    const { tools } = createCodeTools({ sources: [mcpSource(this.mcp, { serverId })], mode: "discovery" });
    return (await tools.execute.execute!({ code }, execution)) as CodeToolOutput;
  }
}

let t: TestEnv;
let remote: RemoteServer;
beforeEach(async () => {
  const counter = { calls: 0 };
  remote = await startRemoteServer({
    register: (server) => {
      registerDefaults(server, counter);
      server.registerTool(
        "stats",
        {
          description: "Sum and count of numbers",
          inputSchema: z.object({ values: z.array(z.number()) }),
          outputSchema: z.object({ sum: z.number(), count: z.number() }),
        },
        ({ values }) => {
          const structured = { sum: values.reduce((a, b) => a + b, 0), count: values.length };
          return { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured };
        },
      );
      server.registerTool("fail", { description: "Always fails", inputSchema: z.object({}) }, () => ({
        content: [{ type: "text", text: "the calculator is broken" }],
        isError: true,
      }));
    },
  });
  t = await createTestEnv({ agents: { Coder, Inventory }, time: "system" });
});
afterEach(async () => {
  await t.close();
  await remote.close();
});

it("lists MCP tools in the catalogue, declares them, and calls them from code", async () => {
  const coder = t.get<Coder>("Coder", "c");
  expect(await coder.mount(remote.url)).toEqual({ id: "calc", state: "ready" });

  const found = await coder.search(`async () => ({
    names: catalogue.operations.map((o) => o.name),
    add: catalogue.operations.find((o) => o.name === "calc_add"),
    types: await catalogue.declarations(["calc_stats"]),
  })`);
  const result = found.result as { names: string[]; add: unknown; types: string };
  expect(result.names).toEqual(["calc_add", "calc_echo", "calc_stats", "calc_fail"]);
  expect(result.add).toEqual({ name: "calc_add", description: "Adds two numbers", tags: ["calc"], params: "a: number, b: number" });
  expect(result.types).toContain("calc_stats(input: CalcStatsInput): Promise<CalcStatsOutput>;");
  expect(result.types).toContain("sum: number;");

  const out = await coder.run(`async () => {
    const sum = await codemode.calc_add({ a: 2, b: 3 });
    const stats = await codemode.calc_stats({ values: [1, 2, 3] });
    let failure = "";
    try { await codemode.calc_fail(); } catch (e) { failure = e.message; }
    return { sum, stats, failure };
  }`);
  expect(out).toEqual({ result: { sum: "5", stats: { sum: 6, count: 3 }, failure: "codemode.calc_fail failed: the calculator is broken" }, logs: [] });

  const invalid = await coder.run(`async () => codemode.calc_add({ a: "two", b: 1 })`);
  expect(invalid.error?.message).toBe("codemode.calc_add: invalid input: input.a: expected number, got string");
});

it("works over a Hearth MCP server (an McpAgent mounted through its binding) next to a remote one", async () => {
  const coder = t.get<Coder>("Coder", "c2");
  await coder.mount(remote.url);
  const mounted = await coder.mountInventory();
  const serverId = (mounted as { id: string }).id;
  const names = await coder.search(`async () => catalogue.operations.map((o) => o.name)`);
  expect(names.result).toEqual(["calc_add", "calc_echo", "calc_stats", "calc_fail", `${serverId}_stock`]);
  const found = await coder.search(`async () => (await catalogue.find("units in stock", 1)).map((o) => o.tags[0])`);
  expect(found.result).toEqual([serverId]);
  const out = await coder.run(`async () => Number(await codemode.${serverId}_stock({ sku: "ab-1" })) + Number(await codemode.calc_add({ a: 1, b: 2 }))`, [serverId, "calc"]);
  expect(out).toEqual({ result: 43, logs: [] });
});
