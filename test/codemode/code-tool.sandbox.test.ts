/**
 * createCodeTool end to end with the real sandbox (the default executor, and sandboxExecutor with
 * limits): the model's code runs isolated and reaches the tools only through `codemode`.
 */
import { jsonSchema, tool, type Tool, type ToolExecutionOptions } from "ai";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createCodeTool, createCodeTools, DEFAULT_CODE_WALL_MS, generateToolDeclarations, sandboxExecutor, type CodeToolOutput } from "../../src/codemode/index.ts";
import { Sandbox } from "../../src/sandbox/index.ts";

const options: ToolExecutionOptions<unknown> = { toolCallId: "call-9", messages: [], context: undefined };

async function run(codeTool: Tool<{ code: string }, CodeToolOutput>, code: string): Promise<CodeToolOutput> {
  if (codeTool.execute === undefined) throw new Error("no execute");
  return (await codeTool.execute({ code }, options)) as CodeToolOutput;
}

const calls: unknown[] = [];
const tools = {
  "get-weather": tool({
    description: "Current weather in a city.",
    inputSchema: z.object({ city: z.string().min(1), unit: z.enum(["c", "f"]).default("c") }),
    execute: async ({ city, unit }) => {
      calls.push(city);
      return { city, temp: city.length * 3, unit };
    },
  }),
  lookup: tool({
    description: "A user by id.",
    inputSchema: jsonSchema<{ id: number }>({ type: "object", properties: { id: { type: "integer" } }, required: ["id"], additionalProperties: false }),
    execute: async ({ id }) => ({ id, name: `user${id}` }),
  }),
  broken: tool({
    description: "Always fails.",
    inputSchema: z.object({}),
    execute: async (): Promise<string> => {
      throw new RangeError("quota exceeded");
    },
  }),
  wipe: tool({ description: "Deletes everything.", inputSchema: z.object({}), needsApproval: true, execute: async () => "wiped" }),
};

describe("createCodeTool in the sandbox", () => {
  it("runs the model's code against the tools and returns value and logs", async () => {
    calls.length = 0;
    const codeTool = createCodeTool({ tools });
    const out = await run(
      codeTool,
      `async () => {
        const cities = ["Oslo", "Rome", "Paris"];
        const rs = await Promise.all(cities.map((city) => codemode.get_weather({ city })));
        console.log("fetched", rs.length, "cities");
        const user = await codemode.lookup({ id: 3 });
        return { warmest: rs.sort((a, b) => b.temp - a.temp)[0], user };
      }`,
    );
    expect(out).toEqual({ result: { warmest: { city: "Paris", temp: 15, unit: "c" }, user: { id: 3, name: "user3" } }, logs: ["fetched 3 cities"] });
    expect(calls.sort()).toEqual(["Oslo", "Paris", "Rome"]);
  });

  it("validation errors and tool errors reject inside the code", async () => {
    calls.length = 0;
    const codeTool = createCodeTool({ tools });
    const out = await run(
      codeTool,
      `async () => {
        const seen = [];
        for (const call of [() => codemode.get_weather({ city: 7 }), () => codemode.lookup({ id: "x" }), () => codemode.broken()]) {
          try { await call(); seen.push("ok"); } catch (e) { seen.push(e instanceof Error ? e.message : String(e)); }
        }
        return seen;
      }`,
    );
    const [weather, lookup, broken] = out.result as string[];
    expect(weather).toMatch(/^codemode\.get_weather: invalid input: input\.city: /);
    expect(lookup).toBe("codemode.lookup: invalid input: input.id: expected integer, got string");
    expect(broken).toContain("codemode.broken failed: quota exceeded");
    expect(calls).toEqual([]);

    const uncaught = await run(codeTool, "async () => { await codemode.lookup({}); }");
    expect(uncaught.error?.message).toContain('codemode.lookup: invalid input: input: missing required property "id"');
  });

  it("does not expose tools that need approval", async () => {
    const codeTool = createCodeTool({ tools });
    expect(String(codeTool.description)).not.toContain("wipe");
    const out = await run(codeTool, "async () => [typeof codemode.wipe, Object.keys(codemode).sort()]");
    expect(out.result).toEqual(["undefined", ["broken", "get_weather", "lookup"]]);
  });

  it("truncates an oversized result with a marker", async () => {
    const codeTool = createCodeTool({ tools, maxResultChars: 1_000 });
    const out = await run(codeTool, "async () => 'x'.repeat(5000)");
    expect(out.truncated).toBe(true);
    expect(out.result).toBe(`"${"x".repeat(999)}… [truncated: 5002 characters, 1000 shown]`);
  });

  it("every run gets a fresh sandbox, without network, within limits", async () => {
    const codeTool = createCodeTool({ tools, executor: sandboxExecutor({ cpuMs: 100, wallMs: 2_000 }) });
    expect((await run(codeTool, "async () => { globalThis.leak = 1; return typeof leak; }")).result).toBe("number");
    expect((await run(codeTool, "async () => typeof globalThis.leak")).result).toBe("undefined");
    const noNet = await run(codeTool, "async () => { await fetch('http://127.0.0.1/'); return 'reached'; }");
    expect(noNet.error?.message).toMatch(/network/);
    const loop = await run(codeTool, "async () => { for (;;) {} }");
    expect(loop.error).toMatchObject({ name: "SandboxLimitError", limit: "cpuMs" });
    expect(typeof process).toBe("object"); // the host is unharmed
    expect((await run(codeTool, "async () => typeof process + ' ' + typeof require")).result).toBe("undefined undefined");
  });
});

/** A tool that answers its own name, for names the sandbox might treat as special. */
const answering = (name: string) => tool({ description: `Answers ${name}.`, inputSchema: z.object({}), execute: async () => name });
const oddNames = ["2fa", "_private", "-dash", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "then", "ok"];
const oddTools = Object.fromEntries(oddNames.map((name) => [name, answering(name)]));
/** Each declared method called once; the result pairs each identifier with what its call answered. */
const callEach = (ids: readonly string[]) => `async () => {
  const out = [];
  for (const id of ${JSON.stringify(ids)}) out.push([id, await codemode[id]({})]);
  return out;
}`;

describe("tool names the sandbox could take for something else", () => {
  const ids = ["_2fa", "_private", "_dash", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "then", "ok"];
  const expected = ids.map((id, i) => [id, oddNames[i]]);

  it("every declared method reaches its own tool (createCodeTool)", async () => {
    const declarations = generateToolDeclarations(oddTools);
    for (const id of ids) expect(declarations).toContain(`  ${id}(input?: `);
    const codeTool = createCodeTool({ tools: oddTools });
    expect(await run(codeTool, callEach(ids))).toEqual({ result: expected, logs: [] });
    const keys = await run(codeTool, "async () => [Object.keys(codemode).sort(), env.codemode === codemode, typeof codemode.__proto__, codemode.constructor.name]");
    expect(keys.result).toEqual([[...ids].sort(), true, "function", "constructor"]);
    // Names nobody declared stay what they are on any object.
    const plain = await run(createCodeTool({ tools: { ok: answering("ok") } }), "async () => [typeof codemode._private, codemode.constructor === Object, codemode.hasOwnProperty('ok')]");
    expect(plain.result).toEqual(["undefined", true, true]);
  });

  it("every declared operation reaches its own tool (createCodeTools, both modes)", async () => {
    for (const mode of ["declarations", "discovery"] as const) {
      const { tools: made } = createCodeTools({ tools: oddTools, mode });
      expect(await run(made.execute, callEach(ids))).toEqual({ result: expected, logs: [] });
      const guessed = await run(made.execute, "async () => codemode._nope({})");
      expect(guessed.error?.message).toBe("codemode._nope is not an operation of this API; find the operations and their names with the search tool");
    }
  });
});

describe("the model's code in the shapes models write it", () => {
  const codeTool = createCodeTool({ tools: { ok: answering("ok") } });
  const shapes: Array<[string, string]> = [
    ["a comment before the function", "// call the tool\nasync () => { return await codemode.ok({}); }"],
    ["a comment after the function", "async () => await codemode.ok({}) // the answer"],
    ["an IIFE", "(async () => { return await codemode.ok({}); })()"],
    ["a bare await", "await codemode.ok({})"],
    ["statements, then the value", "const r = await codemode.ok({});\nr"],
    ["a named function", "async function main() { return await codemode.ok({}); }"],
    ["helpers, then the main function", "const call = () => codemode.ok({});\nasync () => await call()"],
    ["export default", "export default async () => await codemode.ok({});"],
    ["a fenced block", "```javascript\nasync () => await codemode.ok({})\n```"],
  ];

  it("returns the value the code means, whatever its shape", async () => {
    for (const [shape, code] of shapes) expect(await run(codeTool, code), shape).toEqual({ result: "ok", logs: [] });
  });

  it("code ending in a // comment runs in createCodeTools' execute and search", async () => {
    const { tools: made } = createCodeTools({ tools: { ok: answering("ok") }, mode: "discovery" });
    expect(await run(made.execute, "async () => {\n  return await codemode.ok({});\n}\n// done")).toEqual({ result: "ok", logs: [] });
    expect(await run(made.execute, "const r = await codemode.ok({}); r // the answer")).toEqual({ result: "ok", logs: [] });
    const found = await run(made.search!, "async () => catalogue.operations.map((o) => o.name) // names only");
    expect(found).toEqual({ result: ["ok"], logs: [] });
  });
});

describe("the default executor's wall clock", () => {
  it("is 30 s, as long as an OpenAPI request may take, unless given", async () => {
    const create = vi.spyOn(Sandbox, "create");
    try {
      await run(createCodeTool({ tools: { ok: answering("ok") } }), "async () => 1");
      await run(createCodeTool({ tools: { ok: answering("ok") }, executor: sandboxExecutor({ wallMs: 1_234 }) }), "async () => 1");
      expect(create.mock.calls.map(([options]) => options?.wallMs)).toEqual([DEFAULT_CODE_WALL_MS, 1_234]);
      expect(DEFAULT_CODE_WALL_MS).toBe(30_000);
    } finally {
      create.mockRestore();
    }
  });
});
