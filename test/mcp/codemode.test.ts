// A remote MCP server's tools as a code-mode API: the model's code calls several of them in one go.
import { afterEach, beforeEach, expect, it } from "vitest";
import { Agent, callable } from "../../src/index.ts";
import { createCodeTool } from "../../src/codemode/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

class Coder extends Agent {
  @callable() async mount(url: string) {
    return this.addMcpServer("calc", url, { id: "calc" });
  }
  @callable() async declarations(): Promise<string> {
    const { description } = createCodeTool({ tools: this.mcp.getAITools() });
    return typeof description === "string" ? description : "";
  }
  @callable() async run(code: string): Promise<unknown> {
    const codemode = createCodeTool({ tools: this.mcp.getAITools() });
    return codemode.execute!({ code }, { toolCallId: "1", messages: [], context: {} });
  }
}

let t: TestEnv;
let remote: RemoteServer;
beforeEach(async () => {
  remote = await startRemoteServer();
  t = await createTestEnv({ agents: { Coder }, time: "system" });
});
afterEach(async () => {
  await t.close();
  await remote.close();
});

it("exposes mounted MCP tools to code mode, typed and validated", async () => {
  const coder = t.get<Coder>("Coder", "c");
  expect(await coder.mount(remote.url)).toEqual({ id: "calc", state: "ready" });
  const declarations = await coder.declarations();
  expect(declarations).toContain("tool_calc_add(");
  expect(declarations).toContain("Adds two numbers");

  const result = await coder.run(`async () => {
    const sum = await codemode.tool_calc_add({ a: 2, b: 3 });
    const echoed = await codemode.tool_calc_echo({ text: "hi" });
    return { sum: sum.content[0].text, echoed: echoed.content[0].text };
  }`);
  expect(result).toMatchObject({ result: { sum: "5", echoed: "hi" } });

  const invalid = await coder.run(`async () => codemode.tool_calc_add({ a: "two" })`);
  expect(invalid).toMatchObject({ error: { message: expect.stringContaining("input.a: expected number, got string") } });
  expect(remote.calls).toBe(2); // the invalid call never reached the server
});
