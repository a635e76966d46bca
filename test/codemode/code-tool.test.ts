import { jsonSchema, tool, type Tool, type ToolExecutionOptions } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createCodeTool, normalizeCode, type CodeToolOutput } from "../../src/codemode/code-tool.ts";
import type { CodeExecutor, ExecuteResult } from "../../src/codemode/executor.ts";
import { validateJsonSchema } from "../../src/codemode/validate-json-schema.ts";

/**
 * Runs the code in this process (NOT isolated): it tests the host side of code mode (validation,
 * execution, shaping of the output) apart from the sandbox. The real sandbox is exercised in
 * code-tool.sandbox.test.ts.
 */
const inProcess: CodeExecutor = {
  async execute(code, fns): Promise<ExecuteResult> {
    const logs: ExecuteResult["logs"] = [];
    const sink = (level: string) => (...args: unknown[]) =>
      logs.push({ level, message: args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") });
    const console = { log: sink("log"), warn: sink("warn"), error: sink("error") };
    try {
      const fn = new Function("codemode", "console", `"use strict"; return (${code}\n);`)(fns, console) as () => Promise<unknown>;
      return { result: await fn(), logs };
    } catch (error) {
      const e = error as Error;
      return { error: { name: e.name, message: e.message }, logs };
    }
  },
};

const options: ToolExecutionOptions<unknown> = { toolCallId: "call-1", messages: [], context: { user: "ann" } };

async function run(codeTool: Tool<{ code: string }, CodeToolOutput>, code: string): Promise<CodeToolOutput> {
  if (codeTool.execute === undefined) throw new Error("no execute");
  return (await codeTool.execute({ code }, options)) as CodeToolOutput;
}

const seen: Array<{ tool: string; input: unknown; toolCallId: string; context: unknown }> = [];
const weather = tool({
  description: "Current weather in a city.",
  inputSchema: z.object({ city: z.string().min(1), unit: z.enum(["c", "f"]).default("c") }),
  execute: async (input, o) => {
    seen.push({ tool: "weather", input, toolCallId: o.toolCallId, context: o.context });
    return { city: input.city, temp: input.city.length * 3, unit: input.unit };
  },
});
const lookup = tool({
  description: "Looks up a user by id (plain JSON Schema, no validator of its own).",
  inputSchema: jsonSchema<{ id: number; fields?: string[] }>({
    type: "object",
    properties: { id: { type: "integer", minimum: 1 }, fields: { type: "array", items: { type: "string" } } },
    required: ["id"],
    additionalProperties: false,
  }),
  execute: async ({ id }) => ({ id, name: `user${id}` }),
});
const broken = tool({
  description: "Always fails.",
  inputSchema: z.object({}),
  execute: async (): Promise<string> => {
    throw new RangeError("quota exceeded");
  },
});
const deleteAll = tool({
  description: "Deletes everything.",
  inputSchema: z.object({}),
  needsApproval: true,
  execute: async () => "deleted",
});
const refund = tool({
  description: "Refunds an order.",
  inputSchema: z.object({ orderId: z.string() }),
  needsApproval: async () => true,
  execute: async () => "refunded",
});
const harmless = tool({ description: "Says hi.", inputSchema: z.object({}), needsApproval: false, execute: async () => "hi" });
const clientSide = tool({ description: "Runs in the browser.", inputSchema: z.object({}) });

const tools = { weather, lookup, broken, deleteAll, refund, harmless, clientSide };

describe("createCodeTool", () => {
  it("describes the API as TypeScript in the tool description", () => {
    const codeTool = createCodeTool({ tools, executor: inProcess });
    const description = String(codeTool.description);
    expect(description).toMatch(/^Run JavaScript that calls the API below\./);
    expect(description).toContain("interface WeatherInput {");
    expect(description).toContain("weather(input: WeatherInput): Promise<unknown>;");
    expect(description).toContain("lookup(input: LookupInput): Promise<unknown>;");
    expect(description).toContain("harmless(input?: HarmlessInput): Promise<unknown>;");

    const custom = createCodeTool({ tools: { weather }, executor: inProcess, description: "API:\n{{types}}\nBe brief." });
    expect(String(custom.description)).toMatch(/^API:\n```ts\ninterface WeatherInput[\s\S]*\n```\nBe brief\.$/);
  });

  it("hides tools that need approval, and tools without execute", async () => {
    const codeTool = createCodeTool({ tools, executor: inProcess });
    const description = String(codeTool.description);
    for (const hidden of ["deleteAll", "refund", "clientSide"]) expect(description).not.toContain(hidden);
    const out = await run(codeTool, "async () => [typeof codemode.deleteAll, typeof codemode.refund, typeof codemode.clientSide, await codemode.harmless()]");
    expect(out).toEqual({ result: ["undefined", "undefined", "undefined", "hi"], logs: [] });
    const call = await run(codeTool, "async () => codemode.deleteAll({})");
    expect(call.error?.name).toBe("TypeError");
  });

  it("runs several tool calls, returns the value and the logs", async () => {
    seen.length = 0;
    const codeTool = createCodeTool({ tools, executor: inProcess });
    const out = await run(
      codeTool,
      `async () => {
        const cities = ["Oslo", "Rome", "Paris"];
        const rs = await Promise.all(cities.map((city) => codemode.weather({ city })));
        console.log("got", rs.length);
        console.warn("careful");
        const user = await codemode.lookup({ id: 7 });
        return { warmest: rs.sort((a, b) => b.temp - a.temp)[0].city, user };
      }`,
    );
    expect(out).toEqual({ result: { warmest: "Paris", user: { id: 7, name: "user7" } }, logs: ["got 3", "[warn] careful"] });
    // zod defaults applied by the validation; the outer call's id and context reach each tool.
    expect(seen.map((s) => s.input)).toEqual([
      { city: "Oslo", unit: "c" },
      { city: "Rome", unit: "c" },
      { city: "Paris", unit: "c" },
    ]);
    expect(seen.map((s) => s.toolCallId)).toEqual(["call-1:1:weather", "call-1:2:weather", "call-1:3:weather"]);
    expect(seen.every((s) => (s.context as { user: string }).user === "ann")).toBe(true);
  });

  it("rejects invalid input inside the code, before the tool runs (zod and JSON Schema)", async () => {
    seen.length = 0;
    const codeTool = createCodeTool({ tools, executor: inProcess });
    const out = await run(
      codeTool,
      `async () => {
        const errors = [];
        for (const call of [
          () => codemode.weather({ city: 42 }),
          () => codemode.weather({ city: "Oslo", unit: "kelvin" }),
          () => codemode.weather(),
          () => codemode.lookup({ id: 1.5 }),
          () => codemode.lookup({ id: 3, extra: true }),
          () => codemode.lookup({ fields: ["a", 2] }),
        ]) {
          try { await call(); errors.push("no error"); } catch (e) { errors.push(e.name + ": " + e.message); }
        }
        return errors;
      }`,
    );
    const errors = out.result as string[];
    expect(errors).toHaveLength(6);
    expect(errors[0]).toMatch(/^TypeError: codemode\.weather: invalid input: input\.city: .*expected string/i);
    expect(errors[1]).toMatch(/^TypeError: codemode\.weather: invalid input: input\.unit: /);
    expect(errors[2]).toMatch(/^TypeError: codemode\.weather: invalid input: input\.city: /);
    expect(errors[3]).toBe("TypeError: codemode.lookup: invalid input: input.id: expected integer, got number");
    expect(errors[4]).toBe("TypeError: codemode.lookup: invalid input: input.extra: unknown property");
    expect(errors[5]).toBe('TypeError: codemode.lookup: invalid input: input: missing required property "id"; input.fields[1]: expected string, got integer');
    expect(seen).toEqual([]);
  });

  it("a failing tool rejects inside the code; an uncaught error comes back as { error, logs }", async () => {
    const codeTool = createCodeTool({ tools, executor: inProcess });
    const caught = await run(codeTool, "async () => { try { await codemode.broken(); } catch (e) { return e.name + ': ' + e.message; } }");
    expect(caught.result).toBe("RangeError: codemode.broken failed: quota exceeded");
    const uncaught = await run(codeTool, "async () => { console.log('before'); await codemode.broken({}); return 1; }");
    expect(uncaught).toEqual({ error: { name: "RangeError", message: "codemode.broken failed: quota exceeded" }, logs: ["before"] });
    const thrown = await run(codeTool, "async () => { throw new Error('mine'); }");
    expect(thrown).toEqual({ error: { name: "Error", message: "mine" }, logs: [] });
  });

  it("truncates oversized results and logs with a marker", async () => {
    const codeTool = createCodeTool({ tools, executor: inProcess, maxResultChars: 100, maxLogChars: 50 });
    const out = await run(
      codeTool,
      `async () => {
        for (let i = 0; i < 10; i++) console.log("line " + i + " " + "x".repeat(10));
        return Array.from({ length: 50 }, (_, i) => ({ i }));
      }`,
    );
    const full = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ i })));
    expect(out.truncated).toBe(true);
    expect(out.result).toBe(`${full.slice(0, 100)}… [truncated: ${full.length} characters, 100 shown]`);
    expect(out.logs.join("").length).toBeLessThan(50 + 60);
    expect(out.logs.at(-1)).toBe("[truncated: 170 characters, 50 shown]");
    expect(out.logs[0]).toBe("line 0 xxxxxxxxxx");

    const small = await run(codeTool, "async () => ({ ok: true })");
    expect(small).toEqual({ result: { ok: true }, logs: [] });
    expect(small.truncated).toBeUndefined();
  });

  it("turns an executor failure into an error for the model", async () => {
    const failing: CodeExecutor = {
      execute: async () => {
        throw new Error("sandbox unavailable");
      },
    };
    const out = await run(createCodeTool({ tools, executor: failing }), "async () => 1");
    expect(out).toEqual({ error: { name: "Error", message: "sandbox unavailable" }, logs: [] });
  });

  it("accepts the code in fences or as a bare body", async () => {
    expect(normalizeCode("```js\nasync () => 1\n```")).toBe("async () => 1");
    expect(normalizeCode("  async () => { return 2; };  ")).toBe("async () => { return 2; }");
    expect(normalizeCode("async function main() { return 3; }")).toBe("async function main() { return 3; }");
    expect(normalizeCode("const r = await codemode.harmless();\nreturn r;")).toBe("async () => {\nconst r = await codemode.harmless();\nreturn r;\n}");
    const codeTool = createCodeTool({ tools, executor: inProcess });
    expect((await run(codeTool, "return await codemode.harmless();")).result).toBe("hi");
  });

  it("reads the code with a parser: comments, IIFEs, bare expressions, named functions", async () => {
    const fence = "`".repeat(3);
    // A lone function is kept, without the comments around it.
    expect(normalizeCode("// call the tool\nasync () => { return 1; }")).toBe("async () => { return 1; }");
    expect(normalizeCode("/* sum */ async () => 1 + 1; // two")).toBe("async () => 1 + 1");
    expect(normalizeCode("(async () => 1)")).toBe("async () => 1");
    expect(normalizeCode("async function main() { return 3; } // main")).toBe("async function main() { return 3; }");
    expect(normalizeCode(`${fence}javascript\n// run\nasync () => 1\n${fence}`)).toBe("async () => 1");
    expect(normalizeCode("export default async () => 4;")).toBe("async () => 4");
    expect(normalizeCode("export default async function () { return 5; }")).toBe("async function () { return 5; }");
    expect(normalizeCode("export default await codemode.harmless();")).toBe("async () => {\nreturn (await codemode.harmless());\n}");
    // A body returns its last expression.
    expect(normalizeCode("(async () => { return 1; })()")).toBe("async () => {\nreturn ((async () => { return 1; })());\n}");
    expect(normalizeCode("await codemode.harmless()")).toBe("async () => {\nreturn (await codemode.harmless());\n}");
    expect(normalizeCode("const r = await codemode.harmless();\nr // the answer")).toBe("async () => {\nconst r = await codemode.harmless();\nreturn (r);\n}");
    expect(normalizeCode("const f = () => 1;\nasync () => f()")).toBe("async () => {\nconst f = () => 1;\nreturn (async () => f())();\n}");
    // A body without a last expression, empty code, and code the parser refuses are wrapped as they are.
    expect(normalizeCode("if (x) return 1;\nreturn 2 // two")).toBe("async () => {\nif (x) return 1;\nreturn 2 // two\n}");
    expect(normalizeCode("  ")).toBe("async () => {}");
    expect(normalizeCode("const x: number = 1; x")).toBe("async () => {\nconst x: number = 1; x\n}");

    const codeTool = createCodeTool({ tools, executor: inProcess });
    for (const code of ["// hi\nasync () => await codemode.harmless()", "(async () => await codemode.harmless())()", "await codemode.harmless()", "const r = await codemode.harmless();\nr"]) {
      expect(await run(codeTool, code)).toEqual({ result: "hi", logs: [] });
    }
  });
});

describe("validateJsonSchema", () => {
  it("checks types, enums, nesting, unions and refs", () => {
    const schema = {
      type: "object",
      properties: {
        kind: { enum: ["a", "b"] },
        tags: { type: "array", items: { type: "string" }, maxItems: 2 },
        when: { anyOf: [{ type: "string", format: "date" }, { type: "null" }] },
        node: { $ref: "#/$defs/Node" },
        name: { type: "string", minLength: 2, pattern: "^[a-z]+$" },
      },
      $defs: { Node: { type: "object", properties: { next: { $ref: "#/$defs/Node" }, v: { type: "number" } } } },
    } as const;
    expect(validateJsonSchema(schema, { kind: "a", tags: ["x"], when: null, node: { next: { v: 1 } }, name: "ok" })).toEqual([]);
    expect(validateJsonSchema(schema, { kind: "c", tags: ["x", "y", "z"], when: 5, node: { next: { v: "1" } }, name: "A" })).toEqual([
      'input.kind: expected one of "a", "b"',
      "input.tags: more than 2 items",
      "input.when: does not match any of the allowed shapes (closest: input.when: expected string, got integer)",
      "input.node.next.v: expected number, got string",
      "input.name: shorter than 2 characters",
      "input.name: does not match the pattern ^[a-z]+$",
    ]);
    expect(validateJsonSchema({ type: "object" }, [])).toEqual(["input: expected object, got array"]);
    expect(validateJsonSchema({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1)).toEqual(["input: matches more than one of the allowed shapes"]);
  });
});
